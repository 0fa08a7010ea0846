import Foundation

extension Fuzz {
    /// A safetensors file (`model.safetensors`, `adapter_model.safetensors`, `optimizer.safetensors`):
    /// opened and validated, then every tensor decoded (floats or ints, by dtype) and wrapped as a
    /// checkpoint would wrap it.
    static let safeTensorsTarget = FuzzTarget(
        name: "safetensors", summary: "a .safetensors file: header validation, then every tensor decoded"
    ) { data in
        let url = file("model.safetensors", data)
        guard let file = attempt("SafeTensorsFile", { try SafeTensorsFile(contentsOf: url) }) else { return }
        consume(file.metadata.count)
        for name in file.names {
            guard let info = file.info(name) else { continue }
            if info.dtype.isFloatingPoint {
                _ = attempt("floats \(name)") { try file.floats(name) }
                var scratch = [Float](repeating: 0, count: info.count)
                scratch.withUnsafeMutableBufferPointer { buffer in
                    if let base = buffer.baseAddress { _ = attempt("copyFloats") { try file.copyFloats(name, into: base, count: info.count) } }
                }
            } else {
                _ = attempt("ints \(name)") { try file.ints(name) }
            }
        }
        consume(CheckpointWeights(file: file))
    }
}
