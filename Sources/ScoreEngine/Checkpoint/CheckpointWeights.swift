import Foundation

/// The weight files of a Hugging Face checkpoint folder, opened and cross-checked: one
/// `model.safetensors`, or else the shards (`model-0000N-of-0000M.safetensors`) that
/// `model.safetensors.index.json` lists in its `weight_map`. As in `transformers`, a single
/// `model.safetensors` wins when both are present.
///
/// A sharded set must agree with its index exactly: every shard the index names exists and is a
/// plain file name in the folder, every tensor the index lists is in the shard it names, no tensor
/// is in two shards, and no shard holds a tensor the index does not list. Anything else is
/// `ScoreError.invalidFile` naming the index or the shard.
///
/// Files are memory-mapped and nothing is decoded on opening; `copyFloats` converts one tensor at
/// a time straight into its destination, so loading a model never holds a second float32 copy.
public struct CheckpointWeights: Sendable {
    /// Name of the single weights file.
    public static let singleFileName = "model.safetensors"
    /// Name of the index of a sharded checkpoint.
    public static let indexFileName = "model.safetensors.index.json"
    /// Largest index file read (a real one is a few hundred kilobytes).
    static let maximumIndexSize = 100_000_000

    /// The opened files: the single file, or the shards in name order.
    public let files: [SafeTensorsFile]
    /// Path that errors about the set as a whole name: the single file, or the index.
    public let path: String
    /// Which element of `files` holds each tensor.
    private let location: [String: Int]

    /// Wraps one opened safetensors file.
    public init(file: SafeTensorsFile) {
        files = [file]
        path = file.path
        location = Dictionary(file.names.map { ($0, 0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Opens the weights of the checkpoint folder `directory`.
    public init(folder directory: URL) throws {
        let single = directory.appendingPathComponent(Self.singleFileName)
        let index = directory.appendingPathComponent(Self.indexFileName)
        let manager = FileManager.default
        if manager.fileExists(atPath: single.path) {
            self.init(file: try SafeTensorsFile(contentsOf: single))
            return
        }
        guard manager.fileExists(atPath: index.path) else {
            throw ScoreError.invalidFile(
                path: single.path, reason: "file not found (nor \(Self.indexFileName) for a sharded checkpoint)")
        }
        try self.init(index: index, in: directory)
    }

    /// Opens the shards listed by the index file at `index`.
    private init(index: URL, in directory: URL) throws {
        path = index.path
        func invalid(_ reason: String) -> ScoreError { .invalidFile(path: index.path, reason: reason) }
        let weightMap = try Self.readWeightMap(index)
        guard !weightMap.isEmpty else { throw invalid("weight_map is empty") }
        for (tensor, shard) in weightMap.sorted(by: { $0.key < $1.key }) {
            let plain = !shard.isEmpty && !shard.contains("/") && !shard.contains("\\") && !shard.hasPrefix(".")
            guard plain, shard.hasSuffix(".safetensors") else {
                throw invalid("weight_map puts '\(tensor)' in '\(shard)', which is not a .safetensors file name "
                              + "inside the checkpoint folder")
            }
        }
        let shardNames = Set(weightMap.values).sorted()
        var files = [SafeTensorsFile]()
        for name in shardNames {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ScoreError.invalidFile(path: url.path, reason: "shard listed in \(Self.indexFileName) not found")
            }
            files.append(try SafeTensorsFile(contentsOf: url))
        }
        var location = [String: Int]()
        for (i, file) in files.enumerated() {
            for name in file.names {
                if let other = location[name] {
                    throw ScoreError.invalidFile(
                        path: file.path, reason: "tensor '\(name)' is also in shard '\(shardNames[other])'")
                }
                location[name] = i
            }
        }
        for (tensor, shard) in weightMap.sorted(by: { $0.key < $1.key }) {
            guard let holder = location[tensor] else {
                throw invalid("weight_map lists tensor '\(tensor)' in '\(shard)', but that shard has no such tensor")
            }
            guard shardNames[holder] == shard else {
                throw invalid("weight_map puts '\(tensor)' in '\(shard)', but it is in '\(shardNames[holder])'")
            }
        }
        if let (tensor, holder) = location.sorted(by: { $0.key < $1.key }).first(where: { weightMap[$0.key] == nil }) {
            throw ScoreError.invalidFile(
                path: files[holder].path, reason: "holds tensor '\(tensor)', which \(Self.indexFileName) does not list")
        }
        self.files = files
        self.location = location
    }

    /// The `weight_map` of an index file.
    private static func readWeightMap(_ index: URL) throws -> [String: String] {
        struct Index: Decodable {
            let weightMap: [String: String]
            enum CodingKeys: String, CodingKey { case weightMap = "weight_map" }
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: index.path)[.size] as? Int) ?? 0
        guard size <= maximumIndexSize else {
            throw ScoreError.invalidFile(path: index.path, reason: "\(size) bytes exceeds the limit of \(maximumIndexSize)")
        }
        let data = try FileContents.read(index)
        do {
            return try JSONDecoder().decode(Index.self, from: data).weightMap
        } catch let error as DecodingError {
            throw ScoreError.invalidFile(path: index.path, reason: "malformed index: \(SafeTensorsFile.describe(error))")
        } catch {
            throw ScoreError.invalidFile(path: index.path, reason: "malformed index: \(error.localizedDescription)")
        }
    }

    /// Every tensor name, file by file, each file's in storage order.
    public var names: [String] { files.flatMap(\.names) }

    /// The file holding the tensor called `name`, if any.
    public func file(holding name: String) -> SafeTensorsFile? {
        location[name].map { files[$0] }
    }

    /// Type, shape and location of the tensor called `name`, if present.
    public func info(_ name: String) -> SafeTensorInfo? {
        file(holding: name)?.info(name)
    }

    /// Writes the values of the floating-point tensor `name`, converted to float32, to
    /// `destination`; `count` must equal its element count.
    package func copyFloats(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        guard let file = file(holding: name) else {
            throw ScoreError.invalidFile(path: path, reason: "no tensor named '\(name)'")
        }
        try file.copyFloats(name, into: destination, count: count)
    }
}
