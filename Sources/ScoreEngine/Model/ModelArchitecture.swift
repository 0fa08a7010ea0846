/// The Hugging Face model classes whose checkpoints the engine reads and writes. All three are
/// the same decoder once their options are restricted to what the engine computes (RMSNorm,
/// rotary attention with grouped-query heads, SwiGLU MLP); they differ in which options exist:
/// Qwen2 always has q/k/v biases, Mistral declares a sliding attention window, Llama neither.
public enum ModelArchitecture: String, Codable, Sendable, CaseIterable {
    /// `LlamaForCausalLM` (Llama 2/3, SmolLM, TinyLlama, ...).
    case llama = "LlamaForCausalLM"
    /// `Qwen2ForCausalLM`: q/k/v projections carry a bias.
    case qwen2 = "Qwen2ForCausalLM"
    /// `MistralForCausalLM`: accepted when its sliding window is never in effect.
    case mistral = "MistralForCausalLM"

    /// The `model_type` value of `config.json` for this class.
    public var modelType: String {
        switch self {
        case .llama: return "llama"
        case .qwen2: return "qwen2"
        case .mistral: return "mistral"
        }
    }

    /// The architecture whose `model_type` is `modelType`, if supported.
    public init?(modelType: String) {
        guard let match = Self.allCases.first(where: { $0.modelType == modelType }) else { return nil }
        self = match
    }
}
