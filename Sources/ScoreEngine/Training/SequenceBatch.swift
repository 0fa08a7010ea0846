/// A list of token sequences packed, right-padded, into one [batch, seqLen] block for
/// `Transformer.forward`, with next-token targets on the trained tokens only.
///
/// Each sequence is a list of segments (SFT: prompt untrained, completion trained; a SCoRe
/// episode: prompt, attempt 1 trained, instruction, attempt 2 trained). Position i of a row
/// predicts token i + 1: `targets[i] = tokens[i + 1]` when token i + 1 belongs to a trained
/// segment, else −1 (prompt, instruction, the last token, padding). The first token of a
/// sequence has no prefix and is never a target.
public struct SequenceBatch: Sendable, Equatable {
    /// A run of tokens that is either trained on or only conditioned on.
    public struct Segment: Codable, Sendable, Equatable {
        /// Token ids.
        public var tokens: [Int]
        /// Whether these tokens are prediction targets (carry loss).
        public var trained: Bool

        /// A segment of `tokens`.
        public init(tokens: [Int], trained: Bool) {
            self.tokens = tokens
            self.trained = trained
        }
    }

    /// Number of rows.
    public let batch: Int
    /// Row length: the longest sequence (or the requested length).
    public let seqLen: Int
    /// Input ids, row-major [batch, seqLen], padded with the pad id.
    public let tokens: [Int]
    /// Next-token targets, row-major [batch, seqLen]; −1 where no loss applies.
    public let targets: [Int]
    /// For each position with a target, the index (within its sequence) of the segment holding
    /// the target token; −1 elsewhere. Lets per-segment weights (per-turn advantages) be applied.
    public let targetSegments: [Int]
    /// Unpadded length of each row.
    public let lengths: [Int]

    /// Number of positions with a target.
    public var trainedCount: Int { targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }
    /// Number of non-padding tokens.
    public var tokenCount: Int { lengths.reduce(0, +) }

    /// Packs `sequences` (each a list of segments). Rows are as long as the longest sequence,
    /// or exactly `seqLen` when given. Throws when the list or a sequence is empty, a sequence
    /// exceeds `maxSeqLen` (or `seqLen`), or an id is negative.
    public init(sequences: [[Segment]], padID: Int, maxSeqLen: Int, seqLen requested: Int? = nil) throws {
        guard !sequences.isEmpty else { throw ScoreError.invalidArgument("cannot pack an empty list of sequences") }
        guard padID >= 0 else { throw ScoreError.invalidArgument("pad id must be >= 0 (got \(padID))") }
        guard maxSeqLen > 0 else { throw ScoreError.invalidArgument("max sequence length must be positive (got \(maxSeqLen))") }
        let lengths = sequences.map { $0.reduce(0) { $0 + $1.tokens.count } }
        for (row, length) in lengths.enumerated() {
            guard length > 0 else { throw ScoreError.invalidArgument("sequence \(row) has no tokens") }
            guard length <= maxSeqLen else {
                throw ScoreError.invalidArgument(
                    "sequence \(row) has \(length) tokens, more than the model's maximum of \(maxSeqLen)")
            }
        }
        let longest = lengths.max() ?? 0
        let width: Int
        if let requested {
            guard requested >= longest, requested <= maxSeqLen else {
                throw ScoreError.invalidArgument(
                    "requested sequence length \(requested) must be in \(longest)...\(maxSeqLen)")
            }
            width = requested
        } else {
            width = longest
        }
        var tokens = [Int](repeating: padID, count: sequences.count * width)
        var targets = [Int](repeating: -1, count: sequences.count * width)
        var targetSegments = [Int](repeating: -1, count: sequences.count * width)
        for (row, segments) in sequences.enumerated() {
            var position = row * width
            for (index, segment) in segments.enumerated() {
                for token in segment.tokens {
                    guard token >= 0 else {
                        throw ScoreError.invalidArgument("sequence \(row) holds a negative token id \(token)")
                    }
                    tokens[position] = token
                    if segment.trained && position > row * width {
                        targets[position - 1] = token
                        targetSegments[position - 1] = index
                    }
                    position += 1
                }
            }
        }
        self.batch = sequences.count
        self.seqLen = width
        self.tokens = tokens
        self.targets = targets
        self.targetSegments = targetSegments
        self.lengths = lengths
    }

    /// Packs SFT examples by their segments.
    public init(examples: [SFTExample], padID: Int, maxSeqLen: Int, seqLen: Int? = nil) throws {
        try self.init(sequences: examples.map(\.segments), padID: padID, maxSeqLen: maxSeqLen, seqLen: seqLen)
    }
}
