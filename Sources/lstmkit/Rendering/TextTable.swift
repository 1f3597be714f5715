/// Aligned plain-text columns for terminal reports: a header row, then one row per item, columns
/// separated by two spaces, trailing spaces trimmed.
///
/// ```swift
/// var table = TextTable(["tensor", "dtype", "shape", .init("size", .right)])
/// table.append(["weight_ih_l0", "float32", "(64, 8)", "2.0 KiB"])
/// console.print(table.render(indent: "  "))
/// ```
///
/// Widths count Characters, so keep cells to single-width text (ASCII, `·`, `×`).
struct TextTable {
    enum Alignment: Sendable { case left, right }

    struct Column: ExpressibleByStringLiteral {
        var title: String
        var alignment: Alignment
        init(_ title: String, _ alignment: Alignment = .left) {
            self.title = title
            self.alignment = alignment
        }
        init(stringLiteral title: String) { self.init(title) }
    }

    var columns: [Column]
    private(set) var rows: [[String]] = []

    init(_ columns: [Column]) { self.columns = columns }

    /// Adds a row; missing cells are empty, extra cells are dropped, control characters are shown
    /// escaped (``printable(_:)``).
    mutating func append(_ cells: [String]) {
        rows.append((0..<columns.count).map { $0 < cells.count ? printable(cells[$0]) : "" })
    }

    var isEmpty: Bool { rows.isEmpty }

    /// The table as lines joined by "\n" (no trailing newline); `header: false` leaves out the titles.
    func render(indent: String = "", header: Bool = true) -> String {
        let all = (header ? [columns.map(\.title)] : []) + rows
        var widths = [Int](repeating: 0, count: columns.count)
        for row in all { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return all.map { row in
            var line = indent
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                if i > 0 { line += "  " }
                line += columns[i].alignment == .right ? pad + cell : cell + pad
            }
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }
}

/// `text` with control characters (newlines, escape sequences) written as `\n`, `\u{1b}`, … so
/// that names and values from a file cannot break a table or drive the terminal.
func printable(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.properties.generalCategory == .control:
            out += "\\u{" + String(scalar.value, radix: 16) + "}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}
