import Foundation

/// One attempt to score: the prompt the model saw, what it answered, and the reference answer.
public struct VerifierItem: Sendable, Equatable {
    /// The prompt of this turn as text (for turn 2 it includes the first attempt and the
    /// self-correction instruction).
    public var prompt: String
    /// The model's answer to score.
    public var response: String
    /// The reference (gold) answer of the problem.
    public var reference: String
    /// Which attempt this is: 1 (first attempt) or 2 (after the self-correction instruction).
    public var turn: Int
    /// The turn-1 response when `turn == 2`; nil on turn 1.
    public var firstAttempt: String?

    /// An item; `firstAttempt` should be set exactly when `turn == 2`.
    public init(prompt: String, response: String, reference: String, turn: Int = 1, firstAttempt: String? = nil) {
        self.prompt = prompt
        self.response = response
        self.reference = reference
        self.turn = turn
        self.firstAttempt = firstAttempt
    }
}

/// Scores attempts with a reward, typically 1 for correct and 0 for wrong (any finite value is
/// allowed). Scoring is batched: one call gets every attempt of a step, so a verifier that calls
/// out to a slow judge can parallelise internally.
///
/// A thrown error stops the whole training step cleanly: nothing is updated and the error reaches
/// the caller (wrapped as `ScoreError.callbackFailed` unless it already is a `ScoreError`). Call
/// `checkedScores(_:)` rather than `score(_:)` to get that wrapping and the result checks.
public protocol Verifier {
    /// One reward per item, in the items' order.
    func score(_ items: [VerifierItem]) throws -> [Float]
}

/// A verifier backed by a closure, e.g. a host-language callback.
///
///     let verifier = ClosureVerifier { items in items.map { $0.response == $0.reference ? 1 : 0 } }
public struct ClosureVerifier: Verifier {
    /// The scoring function: one reward per item, in order.
    public let body: ([VerifierItem]) throws -> [Float]

    /// A verifier that calls `body` for every batch.
    public init(_ body: @escaping ([VerifierItem]) throws -> [Float]) {
        self.body = body
    }

    /// Calls the closure.
    public func score(_ items: [VerifierItem]) throws -> [Float] {
        try body(items)
    }
}

extension Verifier {
    /// `score(items)`, checked: throws `ScoreError.callbackFailed` when the number of rewards
    /// differs from the number of items, `ScoreError.nonFinite` naming the first item whose reward
    /// is NaN or infinite, and rethrows any other error as `ScoreError.callbackFailed("verifier: …")`
    /// (a `ScoreError` passes through unchanged). An empty batch returns `[]` without calling the
    /// verifier.
    public func checkedScores(_ items: [VerifierItem]) throws -> [Float] {
        if items.isEmpty { return [] }
        let rewards: [Float]
        do {
            rewards = try score(items)
        } catch let error as ScoreError {
            throw error
        } catch {
            let message = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
            throw ScoreError.callbackFailed("verifier: \(message)")
        }
        guard rewards.count == items.count else {
            throw ScoreError.callbackFailed("verifier returned \(rewards.count) rewards for \(items.count) items")
        }
        if let index = rewards.firstIndex(where: { !$0.isFinite }) {
            throw ScoreError.nonFinite("verifier reward of item \(index) is \(rewards[index])")
        }
        return rewards
    }
}
