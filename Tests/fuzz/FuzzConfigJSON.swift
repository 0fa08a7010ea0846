import Foundation

extension Fuzz {
    /// A checkpoint folder's `config.json`: read and validated as `Transformer.load(from:)` reads
    /// it, then what the loader computes from it before the weights are read (the parameter
    /// layout, the parameter count, the rotary frequencies).
    static let configJSONTarget = FuzzTarget(
        name: "config_json", summary: "a config.json: Transformer.readConfig, then layout and rotary frequencies"
    ) { data in
        consume(file(Transformer.configFileName, data))
        guard let config = attempt("readConfig", { try Transformer.readConfig(in: scratch) }) else { return }
        let layout = ParameterLayout(config: config)
        consume(layout.tensors.count)
        consume(config.parameterCount)
        consume(config.ropeInverseFrequencies)
    }
}
