import LSTMSchema

/// The reference forward pass and the tolerance comparison (filled in by the reference-pass work).
public enum LSTMReference {}
