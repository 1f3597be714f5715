import re


def test_version(lstmkit):
    """`--version`: the version and the revision built from ("source build" outside scripts/package)."""
    assert re.fullmatch(r"0\.1\.0 \((source build|[0-9a-f]{12}(-dirty)?)\)", lstmkit("--version").stdout.strip())
