import Foundation
import ScoreEngine

/// One whole SCoRe step (rollout of both attempts, rewards, policy and reference passes,
/// backward, clipping, AdamW), libscore against a PyTorch/transformers peer
/// (peer_torch_score.py) on the same shape and the same episode tokens:
///
///   score-bench --score-step --shape smollm2-135m --python PYTHON [--threads 1,2] [--runs 3]
///               [--max-new-tokens 128] [--prompts 8 --samples 4] [--lora-rank R] [--peer-micro-batch 4]
///
/// Each side runs in a child process of its own, so that each peak RSS is that side's alone:
/// libscore as this executable again with `--score-step-child`, the peer as a Python process.
/// Both run one untimed step, then `--runs` timed steps, and report medians. libscore runs with its
/// default memory budget (it picks its micro-batch itself); the peer forwards and back-propagates
/// `--peer-micro-batch` episodes at a time (0: all at once, ~24 GB at SmolLM2-135M's shape).
enum SCoReStepBench {
    /// Settings of the benchmark (the parent's and the child's flags are the same).
    struct Arguments {
        var shape = "smollm2-135m"
        var configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("configs.json")
        var python = ProcessInfo.processInfo.environment["SCORE_BENCH_PYTHON"]
        var threads = [1, 2]
        var runs = 3
        var maxNewTokens = 128
        var prompts = 8
        var samples = 4
        /// LoRA rank (0: full fine-tuning).
        var loraRank = 0
        /// Episodes per forward/backward pass of the peer (0: all).
        var peerMicroBatch = 4
        /// Whether this process is the libscore child.
        var isChild = false

        init(_ flags: [String]) throws {
            var args = flags[...]
            while let flag = args.popFirst() {
                if flag == "--score-step" { continue }
                if flag == "--score-step-child" { isChild = true; continue }
                guard let value = args.popFirst() else { throw ScoreError.invalidArgument("\(flag) needs a value") }
                func number() throws -> Int {
                    guard let n = Int(value) else { throw ScoreError.invalidArgument("\(flag) \(value): not a number") }
                    return n
                }
                switch flag {
                case "--shape": shape = value
                case "--configs": configs = URL(fileURLWithPath: value)
                case "--python": python = value
                case "--threads": threads = value.split(separator: ",").compactMap { Int($0) }
                case "--runs": runs = try number()
                case "--max-new-tokens": maxNewTokens = try number()
                case "--prompts": prompts = try number()
                case "--samples": samples = try number()
                case "--lora-rank": loraRank = try number()
                case "--peer-micro-batch": peerMicroBatch = try number()
                default: throw ScoreError.invalidArgument("unknown flag \(flag)")
                }
            }
            guard runs >= 1, !threads.isEmpty, threads.allSatisfy({ $0 >= 1 }), min(loraRank, peerMicroBatch) >= 0 else {
                throw ScoreError.invalidArgument(
                    "--runs >= 1, --threads a list of counts >= 1, --lora-rank >= 0, --peer-micro-batch >= 0")
            }
        }

        /// The flags that make a child run the same work on `threads` threads.
        func childFlags(threads: Int) -> [String] {
            ["--score-step-child", "--shape", shape, "--configs", configs.path, "--threads", String(threads),
             "--runs", String(runs), "--max-new-tokens", String(maxNewTokens), "--prompts", String(prompts),
             "--samples", String(samples), "--lora-rank", String(loraRank)]
        }
    }

    /// Whether the command line asks for this benchmark.
    static var isRequested: Bool {
        CommandLine.arguments.contains("--score-step") || CommandLine.arguments.contains("--score-step-child")
    }

    static func main() throws {
        let arguments = try Arguments(Array(CommandLine.arguments.dropFirst()))
        let shape = try BenchShape.load(arguments.shape, from: arguments.configs)
        let workload = try SCoReStepWorkload(shape: shape, prompts: arguments.prompts, samples: arguments.samples,
                                             maxNewTokens: arguments.maxNewTokens, loraRank: arguments.loraRank)
        if arguments.isChild {
            try runChild(workload, arguments: arguments)
        } else {
            try compare(workload, arguments: arguments)
        }
    }

    /// The libscore side, in the child: one untimed step, then `runs` timed ones; prints one JSON
    /// line of per-step figures and this process's peak RSS.
    static func runChild(_ workload: SCoReStepWorkload, arguments: Arguments) throws {
        let threads = arguments.threads[0]
        let policy = try Transformer(config: workload.config, seed: 1, threads: threads)
        let trainer = try SCoReTrainer(policy: policy, problems: workload.problems, format: workload.format,
                                       verifier: SCoReStepWorkload.verifier, options: workload.options)
        var steps = [SCoReStepStats]()
        for run in 0...arguments.runs {
            let stats = try trainer.step(on: workload.problems)
            guard stats.loss.isFinite else { throw ScoreError.nonFinite("libscore step loss is \(stats.loss)") }
            if run > 0 { steps.append(stats) }
        }
        let result: [String: Any] = [
            "step_s": steps.map(\.seconds), "rollout_s": steps.map(\.rolloutSeconds),
            "tokens_per_s": steps.map(\.tokensPerSecond),
            "episode_tokens": steps.map { Int(($0.tokensPerSecond * $0.seconds).rounded()) },
            "attempt1_tokens": steps.map { Int((Double($0.metrics.count) * $0.metrics.meanLengthT1).rounded()) },
            "attempt2_tokens": steps.map { Int((Double($0.metrics.count) * $0.metrics.meanLengthT2).rounded()) },
            "reward_mean_t2": steps.map(\.metrics.rewardMeanT2),
            "max_rss_mb": ChildProcess.selfMaxRSSMegabytes, "trainable_parameters": workload.trainableParameters,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: result), as: UTF8.self))
    }

    /// The parent: runs both sides for each thread count and prints them side by side.
    static func compare(_ workload: SCoReStepWorkload, arguments: Arguments) throws {
        setvbuf(stdout, nil, _IOLBF, 0)  // each line as it is measured, also into a pipe
        let episodes = workload.problems.count * workload.samplesPerPrompt
        let prompt = workload.promptTokens[0].count, instruction = workload.instructionTokens.count
        let training = arguments.loraRank > 0 ? "LoRA rank \(arguments.loraRank), 7 projections" : "full fine-tuning"
        print("SCoRe step, shape \(arguments.shape) (\(ParameterLayout(config: workload.config).count) parameters, "
              + "\(training), \(workload.trainableParameters) trained): "
              + "\(workload.problems.count) prompts x \(workload.samplesPerPrompt) samples, prompt \(prompt) + attempt "
              + "\(workload.maxNewTokens) + instruction \(instruction) + attempt \(workload.maxNewTokens) tokens per "
              + "episode (\(episodes * (prompt + instruction + 2 * workload.maxNewTokens)) per step at full length); "
              + "medians over \(arguments.runs) steps after 1 untimed")
        let spec = FileManager.default.temporaryDirectory.appendingPathComponent("score-step-\(getpid()).json")
        try workload.writeEpisodeSpec(to: spec)
        defer { try? FileManager.default.removeItem(at: spec) }
        print("metric".padding(toLength: 34, withPad: " ", startingAt: 0) + "libscore".leftPad(12)
              + "pytorch".leftPad(12) + "libscore adv.".leftPad(15))
        for threads in arguments.threads {
            let loadBefore = loadAverage()
            let ours = try runLibscore(arguments, threads: threads)
            let loadBetween = loadAverage()
            let peer = try runPeer(arguments, workload: workload, spec: spec, threads: threads)
            report(ours, peer, threads: threads)
            print("  1-min load average before libscore, before the peer, after it: \(loadBefore), \(loadBetween), "
                  + "\(loadAverage()) (\(ProcessInfo.processInfo.activeProcessorCount) cores)")
        }
    }

    /// The 1-minute load average (/proc/loadavg): other work on the machine skews the figures.
    static func loadAverage() -> String {
        let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)
        return text?.split(separator: " ").first.map(String.init) ?? "?"
    }

    /// The libscore child's figures and peak RSS, or nil when it failed.
    static func runLibscore(_ arguments: Arguments, threads: Int) throws -> Side? {
        let child = try ChildProcess.run(ChildProcess.currentExecutable, arguments.childFlags(threads: threads))
        return Side(child, name: "libscore")
    }

    /// The peer's figures and peak RSS, or nil without a Python interpreter.
    static func runPeer(_ arguments: Arguments, workload: SCoReStepWorkload, spec: URL, threads: Int) throws -> Side? {
        guard let python = arguments.python else { return nil }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("peer_torch_score.py")
        let child = try ChildProcess.run(python, [
            script.path, "--configs", arguments.configs.path, "--shape", arguments.shape,
            "--threads", String(threads), "--runs", String(arguments.runs), "--warmup", "1",
            "--prompts", String(arguments.prompts), "--samples", String(arguments.samples),
            "--max-new-tokens", String(arguments.maxNewTokens), "--episode-spec", spec.path,
            "--context", String(workload.config.maxSeqLen), "--lora-rank", String(arguments.loraRank),
            "--micro-batch", String(arguments.peerMicroBatch)])
        return Side(child, name: "pytorch peer")
    }

    /// One side's JSON result and the peak RSS `wait4` reported for its process.
    struct Side {
        let json: [String: Any]
        let maxRSSMegabytes: Double

        init?(_ child: ChildResult, name: String) {
            guard child.exitCode == 0, let json = child.lastJSONLine else {
                FileHandle.standardError.write(Data("\(name): failed (exit \(child.exitCode)), no result\n".utf8))
                return nil
            }
            self.json = json
            maxRSSMegabytes = child.maxRSSMegabytes
        }

        /// The median of a per-step list.
        func median(_ key: String) -> Double? {
            (json[key] as? [Any]).map { ScoreBench.median($0.compactMap { ($0 as? NSNumber)?.doubleValue }) }
        }

        /// A single number.
        func number(_ key: String) -> Double? { (json[key] as? NSNumber)?.doubleValue }
    }

    /// A ratio as "1.23x", or "-".
    static func times(_ ratio: Double?) -> String { ratio.map { format($0, 2) + "x" } ?? "-" }

    /// Prints one thread count's rows: each side's medians and libscore's advantage (the peer's time
    /// or memory over libscore's, libscore's rate over the peer's), then token counts and where the
    /// peer's time went.
    static func report(_ ours: Side?, _ peer: Side?, threads: Int) {
        func line(_ label: String, _ a: Double?, _ b: Double?, higherIsBetter: Bool, digits: Int) {
            var ratio: Double?
            if let a, let b, a > 0, b > 0 { ratio = higherIsBetter ? a / b : b / a }
            print("\(label) (\(threads) thr)".padding(toLength: 34, withPad: " ", startingAt: 0)
                  + format(a, digits).leftPad(12) + format(b, digits).leftPad(12) + times(ratio).leftPad(15))
        }
        for (label, key, higher, digits) in [("step s", "step_s", false, 2), ("rollout s", "rollout_s", false, 2),
                                             ("tokens/s", "tokens_per_s", true, 0)] {
            line(label, ours?.median(key), peer?.median(key), higherIsBetter: higher, digits: digits)
        }
        line("peak RSS MB", ours?.maxRSSMegabytes, peer?.maxRSSMegabytes, higherIsBetter: false, digits: 0)

        func tokens(_ side: Side?) -> String {
            guard let side, let all = side.median("episode_tokens") else { return "-" }
            let first = side.median("attempt1_tokens") ?? 0, second = side.median("attempt2_tokens") ?? 0
            return "\(Int(all)) (attempts \(Int(first)) + \(Int(second)))"
        }
        let trained = [ours, peer].map { format($0?.number("trainable_parameters"), 0) }
        print("  tokens per step: libscore \(tokens(ours)), pytorch \(tokens(peer)); trained values: libscore "
              + "\(trained[0]), pytorch \(trained[1])")
        print("  ru_maxrss each process reports itself (MB): libscore \(format(ours?.number("max_rss_mb"), 0)), "
              + "pytorch \(format(peer?.number("max_rss_mb"), 0)) (\(format(peer?.number("rss_after_import_mb"), 0)) "
              + "after its imports)")
        if let peer {
            let phases = [("attempt 1", "attempt1_s"), ("attempt 2", "attempt2_s"), ("policy fwd", "policy_forward_s"),
                          ("reference fwd", "reference_forward_s"), ("backward", "backward_s"),
                          ("clip+AdamW", "clip_adamw_s")]
            let times = phases.map { "\($0.0) \(format(peer.median($0.1), 2))" }.joined(separator: ", ")
            let micro = peer.number("micro_batch").map { $0 > 0 ? "\(Int($0)) episodes" : "all" } ?? "?"
            print("  pytorch phases (s): \(times) (micro-batch \(micro)); torch \(peer.json["torch"] ?? "?"), "
                  + "transformers \(peer.json["transformers"] ?? "?")")
        }
    }
}
