import CScoreHeader
import Foundation
import ScoreEngine

/// A verifier implemented by the host through a score_verifier_fn.
struct HostVerifier: Verifier {
    let function: score_verifier_fn
    let userData: UnsafeMutableRawPointer?

    /// Hands the items to the host as C strings valid during the call; rewards start as NaN so a
    /// reward the host forgets to write is caught as non-finite.
    func score(_ items: [VerifierItem]) throws -> [Float] {
        var strings = [UnsafeMutablePointer<CChar>]()
        defer { strings.forEach { free($0) } }
        func copy(_ text: String) throws -> UnsafePointer<CChar> {
            let pointer = try Arguments.allocatedText(text)
            strings.append(pointer)
            return UnsafePointer(pointer)
        }
        let cItems = try items.map { item in
            score_verify_item(prompt: try copy(item.prompt), response: try copy(item.response),
                              reference: try copy(item.reference), turn: Int32(clamping: item.turn),
                              first_attempt: try item.firstAttempt.map(copy))
        }
        var rewards = [Float](repeating: .nan, count: items.count)
        let status = cItems.withUnsafeBufferPointer { itemBuffer in
            rewards.withUnsafeMutableBufferPointer { rewardBuffer in
                function(itemBuffer.baseAddress, items.count, rewardBuffer.baseAddress, userData)
            }
        }
        switch status {
        case SCORE_OK: return rewards
        case SCORE_ERR_ABORTED: throw ScoreError.aborted("the verifier asked to stop")
        default: throw ScoreError.callbackFailed("the verifier returned status \(status)")
        }
    }
}

/// The verifier a trainer scores with; the host may swap it between calls.
final class VerifierSlot: Verifier {
    var current: any Verifier = FinalAnswerVerifier()

    func score(_ items: [VerifierItem]) throws -> [Float] {
        try current.score(items)
    }

    /// The built-in verifier of a SCORE_VERIFIER_* kind.
    static func builtin(_ kind: Int32) throws -> any Verifier {
        switch kind {
        case SCORE_VERIFIER_EXACT_MATCH: return ExactMatchVerifier()
        case SCORE_VERIFIER_FINAL_ANSWER: return FinalAnswerVerifier()
        case SCORE_VERIFIER_ARITHMETIC: return ArithmeticVerifier()
        default: throw APIFailure.invalid("unknown verifier kind \(kind) (expected SCORE_VERIFIER_*)")
        }
    }
}
