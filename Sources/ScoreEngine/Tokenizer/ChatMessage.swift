/// One message of a conversation rendered with a `ChatTemplate`.
public struct ChatMessage: Sendable, Equatable, Hashable {
    /// Who wrote the message.
    public enum Role: String, Sendable, Equatable, Hashable {
        /// The person asking (a problem, an instruction).
        case user
        /// The model answering.
        case assistant
    }

    /// Who wrote the message.
    public var role: Role
    /// The message text (untrusted: special-token names in it stay text).
    public var content: String

    /// A message from `role`.
    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }

    /// A user message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: .user, content: content) }

    /// An assistant message.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: .assistant, content: content) }
}
