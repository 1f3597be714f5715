/// Pickle opcodes of protocols 0–5 (CPython `Lib/pickletools.py`). Operand encodings are noted
/// where they are not obvious; all binary integers are little-endian except BINFLOAT (big-endian f64).
enum PickleOpcode: UInt8 {
    // Protocol 0 and 1
    case mark = 0x28            // (
    case stop = 0x2E            // .
    case pop = 0x30             // 0
    case popMark = 0x31         // 1
    case dup = 0x32             // 2
    case float = 0x46           // F  decimal text line
    case int = 0x49             // I  decimal text line; "00"/"01" = False/True
    case binInt = 0x4A          // J  i32
    case binInt1 = 0x4B         // K  u8
    case long = 0x4C            // L  decimal text line, optional trailing L
    case binInt2 = 0x4D         // M  u16
    case none = 0x4E            // N
    case persId = 0x50          // P  text line
    case binPersId = 0x51       // Q
    case reduce = 0x52          // R
    case string = 0x53          // S  quoted Python-2 repr line
    case binString = 0x54       // T  i32 length
    case shortBinString = 0x55  // U  u8 length
    case unicode = 0x56         // V  raw-unicode-escape line
    case binUnicode = 0x58      // X  u32 length, UTF-8
    case append = 0x61          // a
    case build = 0x62           // b
    case global = 0x63          // c  module line, name line
    case dict = 0x64            // d
    case emptyDict = 0x7D       // }
    case appends = 0x65         // e
    case get = 0x67             // g  decimal text line
    case binGet = 0x68          // h  u8
    case inst = 0x69            // i  module line, name line
    case longBinGet = 0x6A      // j  u32
    case list = 0x6C            // l
    case emptyList = 0x5D       // ]
    case obj = 0x6F             // o
    case put = 0x70             // p  decimal text line
    case binPut = 0x71          // q  u8
    case longBinPut = 0x72      // r  u32
    case setItem = 0x73         // s
    case tuple = 0x74           // t
    case emptyTuple = 0x29      // )
    case setItems = 0x75        // u
    case binFloat = 0x47        // G  f64 big-endian
    // Protocol 2
    case proto = 0x80           // u8 version
    case newObj = 0x81
    case ext1 = 0x82            // u8 code
    case ext2 = 0x83            // u16 code
    case ext4 = 0x84            // i32 code
    case tuple1 = 0x85
    case tuple2 = 0x86
    case tuple3 = 0x87
    case newTrue = 0x88
    case newFalse = 0x89
    case long1 = 0x8A           // u8 length, two's complement LE
    case long4 = 0x8B           // i32 length, two's complement LE
    // Protocol 3
    case binBytes = 0x42        // B  u32 length
    case shortBinBytes = 0x43   // C  u8 length
    // Protocol 4
    case shortBinUnicode = 0x8C // u8 length
    case binUnicode8 = 0x8D     // u64 length
    case binBytes8 = 0x8E       // u64 length
    case emptySet = 0x8F
    case addItems = 0x90
    case frozenSet = 0x91
    case newObjEx = 0x92
    case stackGlobal = 0x93
    case memoize = 0x94
    case frame = 0x95           // u64 frame length
    // Protocol 5
    case byteArray8 = 0x96      // u64 length
    case nextBuffer = 0x97
    case readonlyBuffer = 0x98
}
