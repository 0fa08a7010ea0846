import Foundation

/// A minimal line chart written as SVG: a few named series over a shared x axis, y in [0, 100].
struct SVGPlot {
    struct Series {
        let name: String
        let color: String
        let points: [(x: Double, y: Double)]
    }

    let title: String
    let xLabel: String
    let yLabel: String
    var series: [Series] = []

    func render(width: Double = 720, height: Double = 420) -> String {
        let left = 60.0, right = 160.0, top = 40.0, bottom = 50.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) }
        let xMin = xs.min() ?? 0, xMax = max(xs.max() ?? 1, xMin + 1)
        let ys = series.flatMap { $0.points.map(\.y) }
        let yMin = max(0, ((ys.min() ?? 0) / 10).rounded(.down) * 10)
        let yMax = min(100, max(((ys.max() ?? 100) / 10).rounded(.up) * 10, yMin + 10))
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - yMin) / (yMax - yMin)) * plotH }
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
        font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="22" font-size="15">\(escape(title))</text>

        """
        var y = yMin
        while y <= yMax + 1e-9 {
            svg += "<line x1=\"\(left)\" y1=\"\(py(y))\" x2=\"\(left + plotW)\" y2=\"\(py(y))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(left - 8)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">\(Int(y))</text>\n"
            y += 10
        }
        for i in 0...4 {
            let x = xMin + Double(i) / 4 * (xMax - xMin)
            svg += "<text x=\"\(px(x))\" y=\"\(top + plotH + 18)\" text-anchor=\"middle\">\(Int(x.rounded()))</text>\n"
        }
        svg += "<line x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(left + plotW)\" y2=\"\(top + plotH)\" stroke=\"#333\"/>\n"
        svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotH)\" stroke=\"#333\"/>\n"
        svg += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 12)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg += "<text x=\"16\" y=\"\(top + plotH / 2)\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 16 \(top + plotH / 2))\">\(escape(yLabel))</text>\n"
        for (i, s) in series.enumerated() {
            let path = s.points.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
            let ly = top + 10 + Double(i) * 20
            svg += "<line x1=\"\(left + plotW + 14)\" y1=\"\(ly)\" x2=\"\(left + plotW + 34)\" y2=\"\(ly)\" "
                + "stroke=\"\(s.color)\" stroke-width=\"2\"/>"
            svg += "<text x=\"\(left + plotW + 40)\" y=\"\(ly + 4)\">\(escape(s.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
