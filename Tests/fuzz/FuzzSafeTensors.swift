import Foundation

extension Fuzz {
    /// A safetensors file (`model.safetensors`, `adapter_model.safetensors`, `optimizer.safetensors`):
    /// opened and validated, then every tensor decoded (floats or ints, by dtype) and wrapped as a
    /// checkpoint would wrap it.
    static let safeTensorsTarget = FuzzTarget(
        name: "safetensors", summary: "a .safetensors file: header validation, then every tensor decoded"
    ) { data in
        guard let file = try? SafeTensorsFile(contentsOf: file("model.safetensors", data)) else { return }
        _ = file.metadata.count
        for name in file.names {
            guard let info = file.info(name) else { continue }
            if info.dtype.isFloatingPoint {
                _ = try? file.floats(name)
                var scratch = [Float](repeating: 0, count: info.count)
                scratch.withUnsafeMutableBufferPointer { buffer in
                    if let base = buffer.baseAddress { try? file.copyFloats(name, into: base, count: info.count) }
                }
            } else {
                _ = try? file.ints(name)
            }
        }
        _ = CheckpointWeights(file: file)
    }
}
