import Foundation

/// Llama 3.1 rotary frequency scaling (`rope_type: "llama3"`): frequencies whose wavelength is
/// shorter than `originalMaxPositionEmbeddings / highFreqFactor` are kept, those whose wavelength is
/// longer than `originalMaxPositionEmbeddings / lowFreqFactor` are divided by `factor`, and the
/// band between is interpolated smoothly. The attention scale is unchanged.
public struct RopeScaling: Codable, Sendable, Equatable {
    /// Divisor of the low frequencies (`factor`; 8 in Llama 3.1).
    public var factor: Double
    /// Sets the long-wavelength edge of the interpolated band (`low_freq_factor`; 1 in Llama 3.1).
    public var lowFreqFactor: Double
    /// Sets the short-wavelength edge of the interpolated band (`high_freq_factor`; 4 in Llama 3.1).
    public var highFreqFactor: Double
    /// Context length of pretraining (`original_max_position_embeddings`; 8192 in Llama 3.1).
    public var originalMaxPositionEmbeddings: Int

    /// Llama 3 scaling with the given parameters.
    public init(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositionEmbeddings: Int) {
        self.factor = factor
        self.lowFreqFactor = lowFreqFactor
        self.highFreqFactor = highFreqFactor
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
    }

    /// The `rope_type` value naming this scaling in `config.json`.
    public static let ropeType = "llama3"

    /// Throws `ScoreError.invalidArgument` naming the first parameter that would make the
    /// adjusted frequencies non-finite or meaningless.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw ScoreError.invalidArgument("model config: rope scaling (llama3): " + message) }
        }
        try check(factor.isFinite && factor > 0, "factor must be finite and positive (got \(factor))")
        try check(lowFreqFactor.isFinite && lowFreqFactor > 0,
                  "low_freq_factor must be finite and positive (got \(lowFreqFactor))")
        try check(highFreqFactor.isFinite && highFreqFactor > lowFreqFactor,
                  "high_freq_factor (\(highFreqFactor)) must be finite and greater than low_freq_factor (\(lowFreqFactor))")
        try check(originalMaxPositionEmbeddings > 0 && originalMaxPositionEmbeddings <= 1 << 30,
                  "original_max_position_embeddings must be in 1...2^30 (got \(originalMaxPositionEmbeddings))")
    }

    /// The scaled inverse frequencies. Follows the float32 arithmetic of `transformers`: the two
    /// wavelength thresholds are computed in double precision and rounded, everything else is
    /// single precision.
    public func apply(to inverseFrequencies: [Float]) -> [Float] {
        let oldContext = Float(originalMaxPositionEmbeddings)
        let low = Float(lowFreqFactor), high = Float(highFreqFactor), factor = Float(self.factor)
        let lowFreqWavelength = Float(Double(originalMaxPositionEmbeddings) / lowFreqFactor)
        let highFreqWavelength = Float(Double(originalMaxPositionEmbeddings) / highFreqFactor)
        let twoPi = Float(2 * Double.pi)
        return inverseFrequencies.map { frequency in
            let wavelength = twoPi / frequency
            if wavelength < highFreqWavelength { return frequency }
            if wavelength > lowFreqWavelength { return frequency / factor }
            let smooth = (oldContext / wavelength - low) / (high - low)
            return (1 - smooth) * frequency / factor + smooth * frequency
        }
    }

    enum CodingKeys: String, CodingKey {
        case factor, lowFreqFactor = "low_freq_factor", highFreqFactor = "high_freq_factor"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
    }
}
