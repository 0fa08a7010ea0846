import Foundation

/// One call at a time per handle. score.h lets a handle be used by one thread at a time and
/// forbids a callback from calling into the trainer or policy whose call runs it; both are
/// enforced here: each exported call holds the objects it looked up (a trainer with its policy)
/// until it returns, and a second call on a held object — from another thread or from a callback
/// of the running call — fails with SCORE_ERR_STATE instead of racing or re-entering.
protocol ExclusivelyUsed: AnyObject {
    /// Whether a call holds the object.
    var inUse: UseFlag { get }
    /// Objects a call on this one uses as well (a trainer's policy).
    var usedWith: [any ExclusivelyUsed] { get }
}

/// The in-use mark of one object.
final class UseFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var held = false

    /// Marks the object in use; false when a call holds it already.
    func acquire() -> Bool {
        lock.withLock {
            if held { return false }
            held = true
            return true
        }
    }

    func release() { lock.withLock { held = false } }
}

/// The objects held by the exported calls running on the current thread (a callback's call nests
/// inside the call that runs it).
enum CallScope {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<HeldObjects>.fromOpaque(pointer).release() }
        }
        return key
    }()

    private static var current: HeldObjects {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<HeldObjects>.fromOpaque(pointer).takeUnretainedValue()
        }
        let held = HeldObjects()
        pthread_setspecific(key, Unmanaged.passRetained(held).toOpaque())
        return held
    }

    /// How many objects this thread's calls hold: what `release(to:)` returns to.
    static func mark() -> Int { current.objects.count }

    /// Releases what was held since `mark`.
    static func release(to mark: Int) {
        let held = current
        while held.objects.count > mark { held.objects.removeLast().inUse.release() }
    }

    /// Holds `object` (and what it is used with) for the running call; throws SCORE_ERR_STATE,
    /// holding none of them, when a call holds one already.
    static func hold(_ object: any ExclusivelyUsed, kind: String) throws {
        let held = current
        let start = held.objects.count
        for part in [object] + object.usedWith {
            guard part.inUse.acquire() else {
                release(to: start)
                throw APIFailure.state(
                    "the \(kind) \(part === object ? "is" : "'s policy is") in use by another call (another thread, or a "
                    + "callback of a call on it); a handle serves one call at a time")
            }
            held.objects.append(part)
        }
    }
}

/// The objects one thread's calls hold, innermost call last.
private final class HeldObjects {
    var objects: [any ExclusivelyUsed] = []
}
