import CScoreHeader
import Foundation

/// The live handles of one kind. A handle is a token the table hands out, never reused and never
/// dereferenced by the host; every call looks it up, so a freed, stale or foreign handle is an
/// error, not a crash, and cannot reach an object made later at the same address.
final class HandleTable<Object: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private var live: [UInt: Object] = [:]
    private var next: UInt
    private let kind: String

    /// `tag` (1...15) goes in the low bits so handles of different kinds never coincide.
    init(kind: String, tag: UInt) {
        self.kind = kind
        next = tag
    }

    /// Registers `object` and returns its handle (the table keeps it alive until `free`).
    func register(_ object: Object) -> OpaquePointer {
        lock.withLock {
            next += 16
            live[next] = object
            return OpaquePointer(bitPattern: next)!
        }
    }

    /// The object of a live handle, held for the running exported call (`CallScope`); throws for
    /// NULL or a handle that is not live, and SCORE_ERR_STATE when another call holds it.
    func object(_ handle: OpaquePointer?) throws -> Object {
        guard let handle else { throw APIFailure.invalid("the \(kind) handle is NULL") }
        let token = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle)))
        let object = try lock.withLock {
            guard let object = live[token] else {
                throw APIFailure.invalid("\(UnsafeRawPointer(handle)) is not a live \(kind) handle "
                                         + "(freed, or not made by this library)")
            }
            return object
        }
        if let exclusive = object as? any ExclusivelyUsed { try CallScope.hold(exclusive, kind: kind) }
        return object
    }

    /// Forgets and releases a handle; NULL or a handle that is not live is ignored.
    func free(_ handle: OpaquePointer?) {
        guard let handle else { return }
        let token = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle)))
        let removed = lock.withLock { live.removeValue(forKey: token) }
        withExtendedLifetime(removed) {}
    }
}
