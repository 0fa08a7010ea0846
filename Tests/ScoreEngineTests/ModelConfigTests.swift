import Foundation
import Testing
@testable import ScoreEngine

/// Shape validation: inconsistent or absurd configs are clear errors, never traps or huge allocations.
struct ModelConfigTests {
    @Test func rejectsInconsistentAndAbsurdShapes() {
        var bad = [ModelConfig]()
        var c = ModelConfig.tiny
        c.nKVHeads = 3; bad.append(c)                        // does not divide the query heads
        c = .tiny; c.headDim = 7; bad.append(c)              // odd head width
        c = .tiny; c.vocabSize = 0; bad.append(c)
        c = .tiny; c.normEps = .nan; bad.append(c)
        c = .tiny; c.nLayers = 1 << 40; bad.append(c)        // would overflow the layout
        c = .tiny; c.headDim = 1 << 40; bad.append(c)
        c = .tiny; c.hiddenDim = (1 << 31) - 1; c.nLayers = 64; bad.append(c)  // over 2^34 parameters
        c = .tiny; c.maxSeqLen = (1 << 31) - 1; bad.append(c)  // rotary tables of 2^37 values
        for config in bad {
            #expect(throws: ScoreError.self) { try config.validate() }
            #expect(throws: ScoreError.self) { try Transformer(config: config) }
        }
        // Small weights, rotary tables of 2^26 floats (256 MB): refused for the tables alone.
        c = .tiny; c.maxSeqLen = 1 << 20; c.headDim = 64
        #expect(throws: ScoreError.self) { try c.validate() }
        do { try c.validate() } catch { #expect("\(error)".contains("rotary")) }
        #expect(ModelConfig.tiny.parameterCount == ParameterLayout(config: .tiny).count)
        var untied = ModelConfig.tiny
        untied.tieEmbeddings = false
        untied.qkvBias = true
        #expect(untied.parameterCount == ParameterLayout(config: untied).count)
    }

    @Test func readsTransformersFiveRopeParameters() throws {
        let json = #"{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,"#
            + #" "intermediate_size": 16, "rope_parameters": {"rope_theta": 500000.0, "rope_type": "default"}}"#
        let config = try JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8))
        #expect(config.ropeTheta == 500_000 && config.nKVHeads == 2 && config.headDim == 4)
    }
}
