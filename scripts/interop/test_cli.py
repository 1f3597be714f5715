def test_version(lstmkit):
    assert lstmkit("--version").stdout.strip() == "0.1.0"
