/// A model read from a Hugging Face model folder, with the decoding defaults the folder ships.
/// Returned by `Transformer.loadPretrained(from:threads:)`.
public struct PretrainedModel: Sendable {
    /// The weights in float32, ready to run or train.
    public let model: Transformer
    /// The folder's `generation_config.json`, or nil when it has none.
    public let generationDefaults: GenerationDefaults?

    /// Pairs a model with its generation defaults.
    public init(model: Transformer, generationDefaults: GenerationDefaults?) {
        self.model = model
        self.generationDefaults = generationDefaults
    }

    /// The Hugging Face class of the model.
    public var architecture: ModelArchitecture { model.config.architecture }
}
