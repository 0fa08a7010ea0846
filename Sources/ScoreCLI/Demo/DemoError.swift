/// Why a demo stops before its table.
enum DemoError: Error, CustomStringConvertible {
    /// The base missed a target of its recipe: every row would start from a broken base.
    case baseMissedTarget(seed: UInt64, detail: String)
    /// SCoRe's Δ did not exceed the base's by the learning check's margin.
    case learningCheckFailed(gain: Double, margin: Double)

    var description: String {
        switch self {
        case .baseMissedTarget(let seed, let detail):
            return "the base of seed \(seed) missed its target: \(detail). Every method starts from the base, "
                + "so the demo stops here instead of training from it."
        case .learningCheckFailed(let gain, let margin):
            return String(format: "learning check failed: Δ(SCoRe) − Δ(base) = %+.1f points, below the margin of %.1f",
                          gain, margin)
        }
    }
}
