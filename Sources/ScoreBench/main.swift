// score-bench: training-step and decode figures for a shape of configs.json, side by side with an
// eager PyTorch peer of the same architecture run in the same invocation (peer_torch.py).
//
//   swift run -c release score-bench [--shape tiny] [--configs FILE] [--python PYTHON] [--runs N]
//
// --breakdown also times the pieces of the training step. Without --python (or the SCORE_BENCH_PYTHON variable) the peer columns are left empty.
// --score-step times one whole SCoRe step against a transformers peer instead (SCoReStepBench.swift).
import CBLAS
import Foundation
import ScoreEngine

struct Arguments {
    var shape = "tiny"
    var configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("configs.json")
    var python = ProcessInfo.processInfo.environment["SCORE_BENCH_PYTHON"]
    var runs = 10
    var threads = [1, 2]
    var breakdown = false

    init() throws {
        var args = CommandLine.arguments.dropFirst()
        while let flag = args.popFirst() {
            if flag == "--breakdown" { breakdown = true; continue }
            guard let value = args.popFirst() else { throw ScoreError.invalidArgument("\(flag) needs a value") }
            switch flag {
            case "--shape": shape = value
            case "--configs": configs = URL(fileURLWithPath: value)
            case "--python": python = value
            case "--runs": runs = Int(value) ?? runs
            case "--threads": threads = value.split(separator: ",").compactMap { Int($0) }
            default: throw ScoreError.invalidArgument("unknown flag \(flag)")
            }
        }
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Median milliseconds of one training step: forward, cross-entropy backward, AdamW.
func trainStepMilliseconds(_ shape: BenchShape, threads: Int, runs: Int) throws -> Double {
    let model = try Transformer(config: shape.modelConfig, seed: 1, threads: threads)
    let optimizer = try AdamW(model: model, options: AdamWOptions(learningRate: 1e-4))
    var rng = RandomGenerator(seed: 2)
    let count = shape.trainBatch * shape.trainSeqLen
    let tokens = (0..<count).map { _ in rng.nextIndex(below: shape.vocabSize) }
    let targets = (0..<count).map { _ in rng.nextIndex(below: shape.vocabSize) }
    let dLogProbs = [Float](repeating: -1 / Float(count), count: count)
    var times = [Double]()
    for run in 0..<(runs + 2) {
        let time = try seconds {
            model.zeroGradients()
            _ = try model.forward(tokens: tokens, targets: targets, batch: shape.trainBatch, seqLen: shape.trainSeqLen)
            try model.backward(dLogProbs: dLogProbs)
            try optimizer.step(learningRate: 1e-4)
        }
        if run >= 2 { times.append(time * 1000) }
    }
    return median(times)
}

/// Median decode tokens/s: prefill `decodePromptLen` tokens per sequence, then greedy decode of
/// `decodeNewTokens` tokens for every sequence; the rate counts the new tokens over the decode time.
func decodeTokensPerSecond(_ shape: BenchShape, batch: Int, threads: Int, runs: Int) throws -> Double {
    let model = try Transformer(config: shape.modelConfig, seed: 1, threads: threads)
    var rng = RandomGenerator(seed: 3)
    let prompts = (0..<batch).map { _ in (0..<shape.decodePromptLen).map { _ in rng.nextIndex(below: shape.vocabSize) } }
    let cache = try model.makeCache(slots: batch, capacity: shape.decodePromptLen + shape.decodeNewTokens)
    let slots = Array(0..<batch)
    let v = shape.vocabSize
    var rates = [Double]()
    for run in 0..<(max(3, runs / 2) + 1) {
        cache.resetAll()
        var logits = try model.decode(slots: slots, tokens: prompts, cache: cache)
        let time = try seconds {
            for _ in 0..<shape.decodeNewTokens {
                let next = slots.map { s -> [Int] in
                    var best = 0
                    for j in 1..<v where logits[s * v + j] > logits[s * v + best] { best = j }
                    return [best]
                }
                logits = try model.decode(slots: slots, tokens: next, cache: cache)
            }
        }
        if run >= 1 { rates.append(Double(batch * shape.decodeNewTokens) / time) }
    }
    return median(rates)
}

/// GFLOP/s that cblas_sgemm alone reaches on the training step's products, OpenBLAS using `threads`.
func sgemmAloneGFlops(_ shape: BenchShape, threads: Int, runs: Int) -> Double {
    _ = Blas.configured
    let products = shape.trainingProducts
    let largest = products.map { max($0.m * $0.k, $0.n * $0.k, $0.m * $0.n) }.max() ?? 1
    let a = FloatBuffer(count: largest), b = FloatBuffer(count: largest), c = FloatBuffer(count: largest)
    for i in 0..<largest { a.pointer[i] = Float(i % 7) * 0.01; b.pointer[i] = Float(i % 5) * 0.01 }
    openblas_set_num_threads(Int32(threads))
    defer { openblas_set_num_threads(1) }
    let flops = products.reduce(0.0) { $0 + 2 * Double($1.m * $1.n * $1.k) }
    var times = [Double]()
    for run in 0..<(runs + 1) {
        let time = seconds {
            for p in products {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(p.m), Int32(p.n), Int32(p.k), 1,
                            a.pointer, Int32(p.k), b.pointer, Int32(p.k), 0, c.pointer, Int32(p.n))
            }
        }
        if run >= 1 { times.append(time) }
    }
    return flops / median(times) / 1e9
}

/// Runs the PyTorch peer and returns its JSON line, or nil when no interpreter was given.
func runPeer(_ arguments: Arguments, threads: Int) -> [String: Any]? {
    guard let python = arguments.python else { return nil }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("peer_torch.py")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script.path, "--configs", arguments.configs.path, "--shape", arguments.shape,
                         "--threads", String(threads)]
    let pipe = Pipe()
    process.standardOutput = pipe
    do { try process.run() } catch {
        FileHandle.standardError.write(Data("peer: cannot start \(python): \(error)\n".utf8))
        return nil
    }
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard let line = String(decoding: output, as: UTF8.self).split(separator: "\n").last,
          let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        FileHandle.standardError.write(Data("peer: no JSON result (exit \(process.terminationStatus))\n".utf8))
        return nil
    }
    return object
}

func format(_ value: Double?, _ digits: Int = 1) -> String {
    guard let value, value.isFinite else { return "-" }
    return String(format: "%.\(digits)f", value)
}

func row(_ label: String, _ ours: Double?, _ peer: Double?, higherIsBetter: Bool) {
    var speedup: Double?
    if let ours, let peer, ours > 0, peer > 0 { speedup = higherIsBetter ? ours / peer : peer / ours }
    let cells = [label.padding(toLength: 34, withPad: " ", startingAt: 0),
                 format(ours).leftPad(12), format(peer).leftPad(12), (format(speedup, 2) + "x").leftPad(10)]
    print(cells.joined())
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

do {
    if SCoReStepBench.isRequested {
        try SCoReStepBench.main()
        exit(0)
    }
    let arguments = try Arguments()
    let shape = try BenchShape.load(arguments.shape, from: arguments.configs)
    let parameters = ParameterLayout(config: shape.modelConfig).count
    print("shape \(arguments.shape): \(parameters) parameters, train batch \(shape.trainBatch)x\(shape.trainSeqLen), "
          + "decode prompt \(shape.decodePromptLen) + \(shape.decodeNewTokens) new; medians over \(arguments.runs) runs")
    print("metric".padding(toLength: 34, withPad: " ", startingAt: 0) + "libscore".leftPad(12) + "pytorch".leftPad(12)
          + "speedup".leftPad(10))
    for threads in arguments.threads {
        let peer = runPeer(arguments, threads: threads)
        let stepMs = try trainStepMilliseconds(shape, threads: threads, runs: arguments.runs)
        row("train step ms (\(threads) thr)", stepMs, peer?["train_step_ms"] as? Double, higherIsBetter: false)
        let peerDecode = peer?["decode_tok_s"] as? [String: Any]
        for batch in shape.decodeBatches {
            let rate = try decodeTokensPerSecond(shape, batch: batch, threads: threads, runs: arguments.runs)
            row("decode tok/s batch \(batch) (\(threads) thr)", rate, peerDecode?[String(batch)] as? Double,
                higherIsBetter: true)
        }
        let flops = shape.trainingProducts.reduce(0.0) { $0 + 2 * Double($1.m * $1.n * $1.k) }
        let stepGFlops = flops / (stepMs / 1000) / 1e9
        let alone = sgemmAloneGFlops(shape, threads: threads, runs: arguments.runs)
        if arguments.breakdown { try StepBreakdown.run(shape, threads: threads, runs: arguments.runs) }
        print("matmul GFLOP/s (\(threads) thr): step reaches \(format(stepGFlops)), cblas_sgemm alone on the same "
              + "products \(format(alone)) (\(format(100 * stepGFlops / alone, 0))%)")
    }
} catch {
    FileHandle.standardError.write(Data("score-bench: \(error)\n".utf8))
    exit(1)
}
