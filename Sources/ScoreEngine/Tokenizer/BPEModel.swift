/// The `model` of a byte-level BPE tokenizer.json: the vocabulary, the ranked merges and the
/// options that change how a word is encoded.
///
/// A word (a pre-tokenizer piece, as bytes) starts as one symbol per byte, each the vocabulary
/// entry of that byte's stand-in character (see `ByteLevelAlphabet`). The adjacent pair with the
/// lowest-ranked merge is then merged, the leftmost first among equals, until no pair has a
/// merge. With `ignore_merges`, a word that is itself a vocabulary entry is emitted whole.
struct BPEModel: Sendable {
    /// Largest id accepted, so a corrupt file cannot make the decode table huge.
    static let maximumId = 1 << 24

    /// The vocabulary id of each byte's stand-in character; −1 if the vocabulary lacks it.
    private let byteIds: [Int32]
    /// Merges by pair (`left << 32 | right`), giving `rank << 32 | merged id`.
    private let merges: [UInt64: UInt64]
    /// Vocabulary entries by their bytes; filled only with `ignoreMerges`.
    private let wholeWords: [ArraySlice<UInt8>: Int32]
    /// `ignore_merges`: emit a word found in the vocabulary as one id.
    let ignoreMerges: Bool
    /// The id of `unk_token`; bytes missing from the vocabulary become it. Without it they are
    /// dropped, as `tokenizers` does.
    let unknownId: Int32?
    /// `fuse_unk`: consecutive unknown bytes become one unknown id.
    let fuseUnknown: Bool
    /// The bytes each vocabulary id stands for (nil for ids the vocabulary skips).
    let bytesById: [[UInt8]?]

    /// Reusable buffers for `encode`.
    struct Scratch {
        var symbols: [Int32] = []
        var next: [Int32] = []
        var previous: [Int32] = []
        var queue: [UInt64] = []
    }

    /// Validates the `model` section.
    init(json: BPEModelJSON) throws {
        let field = "model"
        if let dropout = json.dropout, dropout != 0 {
            throw TokenizerFileError(field: "\(field).dropout", reason: "\(dropout) is not supported (only null or 0)")
        }
        if json.byteFallback {
            throw TokenizerFileError(field: "\(field).byte_fallback", reason: "true is not supported")
        }
        if let prefix = json.continuingSubwordPrefix, !prefix.isEmpty {
            throw TokenizerFileError(field: "\(field).continuing_subword_prefix", reason: "\"\(prefix)\" is not supported (only null or \"\")")
        }
        if let suffix = json.endOfWordSuffix, !suffix.isEmpty {
            throw TokenizerFileError(field: "\(field).end_of_word_suffix", reason: "\"\(suffix)\" is not supported (only null or \"\")")
        }
        guard !json.vocab.isEmpty else {
            throw TokenizerFileError(field: "\(field).vocab", reason: "empty")
        }

        // Ids: non-negative, bounded, each used once.
        let maxId = json.vocab.values.max() ?? 0
        var tokenById = [String?](repeating: nil, count: min(max(maxId, 0), Self.maximumId) + 1)
        for (token, id) in json.vocab.sorted(by: { $0.value < $1.value || ($0.value == $1.value && $0.key < $1.key) }) {
            guard id >= 0 && id < Self.maximumId else {
                throw TokenizerFileError(field: "\(field).vocab", reason: "id \(id) of \"\(token)\" is outside 0..<\(Self.maximumId)")
            }
            if let other = tokenById[id] {
                throw TokenizerFileError(field: "\(field).vocab", reason: "duplicate id \(id) (\"\(other)\" and \"\(token)\")")
            }
            tokenById[id] = token
        }
        bytesById = tokenById.map { token in
            token.map { ByteLevelAlphabet.bytes(of: $0) ?? Array($0.utf8) }
        }

        var merges = [UInt64: UInt64](minimumCapacity: json.merges.count)
        for (rank, (left, right)) in json.merges.enumerated() {
            let mergeField = "\(field).merges[\(rank)]"
            guard let leftId = json.vocab[left] else {
                throw TokenizerFileError(field: mergeField, reason: "\"\(left)\" is not in the vocab")
            }
            guard let rightId = json.vocab[right] else {
                throw TokenizerFileError(field: mergeField, reason: "\"\(right)\" is not in the vocab")
            }
            guard let mergedId = json.vocab[left + right] else {
                throw TokenizerFileError(field: mergeField, reason: "the merged token \"\(left + right)\" is not in the vocab")
            }
            // A repeated pair keeps its last rank, as in `tokenizers`.
            merges[UInt64(leftId) << 32 | UInt64(rightId)] = UInt64(rank) << 32 | UInt64(mergedId)
        }
        self.merges = merges

        byteIds = (0..<256).map { byte in
            json.vocab[String(ByteLevelAlphabet.scalarForByte[byte])].map(Int32.init) ?? -1
        }
        if let unknown = json.unkToken {
            guard let id = json.vocab[unknown] else {
                throw TokenizerFileError(field: "\(field).unk_token", reason: "\"\(unknown)\" is not in the vocab")
            }
            unknownId = Int32(id)
        } else {
            unknownId = nil
        }
        fuseUnknown = json.fuseUnk
        ignoreMerges = json.ignoreMerges
        var wholeWords = [ArraySlice<UInt8>: Int32]()
        if ignoreMerges {
            wholeWords.reserveCapacity(json.vocab.count)
            for (token, id) in json.vocab {
                if let bytes = ByteLevelAlphabet.bytes(of: token) { wholeWords[bytes[...]] = Int32(id) }
            }
        }
        self.wholeWords = wholeWords
    }

    /// Appends the ids of the word `bytes[range]`.
    func encode(_ bytes: [UInt8], _ range: Range<Int>, into output: inout [Int], scratch: inout Scratch) {
        guard !range.isEmpty else { return }
        if ignoreMerges, let id = wholeWords[bytes[range]] {
            output.append(Int(id))
            return
        }
        loadSymbols(bytes, range, into: &scratch.symbols)
        let count = scratch.symbols.count
        if count > 1 { mergeAll(&scratch) }
        var index = count > 0 ? 0 : -1
        while index >= 0 {
            output.append(Int(scratch.symbols[index]))
            index = count > 1 ? Int(scratch.next[index]) : -1
        }
    }

    /// One symbol per byte; bytes missing from the vocabulary become `unk_token` (fused if
    /// `fuse_unk`) or are dropped.
    private func loadSymbols(_ bytes: [UInt8], _ range: Range<Int>, into symbols: inout [Int32]) {
        symbols.removeAll(keepingCapacity: true)
        var pendingUnknown = false
        for position in range {
            let id = byteIds[Int(bytes[position])]
            if id >= 0 {
                if pendingUnknown, let unknownId { symbols.append(unknownId) }
                pendingUnknown = false
                symbols.append(id)
            } else if let unknownId {
                if pendingUnknown && !fuseUnknown { symbols.append(unknownId) }
                pendingUnknown = true
            }
        }
        if pendingUnknown, let unknownId { symbols.append(unknownId) }
    }

    /// Applies merges to `scratch.symbols` (two or more), lowest rank first and leftmost first
    /// among equal ranks, leaving the result as the linked list starting at index 0.
    private func mergeAll(_ scratch: inout Scratch) {
        let count = scratch.symbols.count
        scratch.next.removeAll(keepingCapacity: true)
        scratch.previous.removeAll(keepingCapacity: true)
        scratch.queue.removeAll(keepingCapacity: true)
        for index in 0..<count {
            scratch.next.append(index + 1 < count ? Int32(index + 1) : -1)
            scratch.previous.append(Int32(index - 1))
        }
        // Queue entries are `rank << 32 | position`: the smallest is the next merge to try.
        for index in 0..<(count - 1) {
            if let merge = merges[pairKey(scratch.symbols[index], scratch.symbols[index + 1])] {
                pushMerge(rank: merge >> 32, position: index, queue: &scratch.queue)
            }
        }
        while let entry = popMerge(queue: &scratch.queue) {
            let rank = entry >> 32
            let position = Int(entry & 0xFFFF_FFFF)
            let right = Int(scratch.next[position])
            // Stale entries: the symbol was merged into its left neighbour (`previous` −2), is
            // now last, or its pair changed (a rank names one pair).
            guard scratch.previous[position] != -2, right >= 0,
                  let merge = merges[pairKey(scratch.symbols[position], scratch.symbols[right])],
                  merge >> 32 == rank else { continue }
            scratch.symbols[position] = Int32(truncatingIfNeeded: merge & 0xFFFF_FFFF)
            let afterRight = Int(scratch.next[right])
            scratch.next[position] = Int32(afterRight)
            if afterRight >= 0 { scratch.previous[afterRight] = Int32(position) }
            scratch.previous[right] = -2
            let left = Int(scratch.previous[position])
            if left >= 0, let merge = merges[pairKey(scratch.symbols[left], scratch.symbols[position])] {
                pushMerge(rank: merge >> 32, position: left, queue: &scratch.queue)
            }
            if afterRight >= 0, let merge = merges[pairKey(scratch.symbols[position], scratch.symbols[afterRight])] {
                pushMerge(rank: merge >> 32, position: position, queue: &scratch.queue)
            }
        }
    }

    @inline(__always)
    private func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Adds an entry to the binary min-heap.
    private func pushMerge(rank: UInt64, position: Int, queue: inout [UInt64]) {
        queue.append(rank << 32 | UInt64(position))
        var child = queue.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard queue[child] < queue[parent] else { break }
            queue.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the smallest entry of the binary min-heap.
    private func popMerge(queue: inout [UInt64]) -> UInt64? {
        guard let top = queue.first else { return nil }
        let last = queue.removeLast()
        if !queue.isEmpty {
            queue[0] = last
            var parent = 0
            while true {
                let leftChild = 2 * parent + 1
                guard leftChild < queue.count else { break }
                var smallest = leftChild
                if leftChild + 1 < queue.count && queue[leftChild + 1] < queue[leftChild] { smallest = leftChild + 1 }
                guard queue[smallest] < queue[parent] else { break }
                queue.swapAt(smallest, parent)
                parent = smallest
            }
        }
        return top
    }
}
