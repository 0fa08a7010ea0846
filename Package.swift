// swift-tools-version:6.0
import Foundation
import PackageDescription

/// Release builds drop the dynamic exclusivity checks (costly on class-held buffers in hot loops)
/// but keep bounds and overflow checks (-O, not -Ounchecked): the engine parses untrusted files,
/// and the kernels run on unsafe pointers, so the checks cost no measurable time there
/// (BENCHMARKS.md, "Checked release builds").
let fastMath: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

/// Absolute path of this folder (the linker resolves the export map from it).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

/// The shared library's SONAME: the ABI part of the version in include/score.h (MAJOR from 1.0
/// on, `0.MINOR` before). Written out rather than read from score.h, because SwiftPM caches a
/// manifest's evaluation by its text: a SONAME read from another file goes stale when only that
/// file changes. `make build` stops when this disagrees with score.h.
let soname = "libscore.so.0.3"

let package = Package(
    name: "libscore",
    products: [
        .library(name: "score", type: .dynamic, targets: ["ScoreC"]),
        .executable(name: "score-cli", targets: ["ScoreCLI"]),
        .executable(name: "score-bench", targets: ["ScoreBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(name: "ScoreEngine", dependencies: ["CBLAS"], swiftSettings: fastMath),
        .systemLibrary(name: "CScoreHeader"),
        .target(
            name: "ScoreC", dependencies: ["ScoreEngine", "CScoreHeader"], exclude: ["exports.map"],
            swiftSettings: fastMath,
            linkerSettings: [.unsafeFlags([
                "-Xlinker", "--version-script=\(packageRoot)/Sources/ScoreC/exports.map",
                "-Xlinker", "-soname=\(soname)",
            ])]),
        .executableTarget(
            name: "ScoreCLI",
            dependencies: ["ScoreEngine", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fastMath),
        .executableTarget(
            name: "ScoreBench", dependencies: ["ScoreEngine", "CBLAS"],
            exclude: ["peer_torch.py", "peer_torch_score.py", "configs.json", "make_model_folder.py"],
            swiftSettings: fastMath),
        .testTarget(
            name: "ScoreEngineTests", dependencies: ["ScoreEngine"],
            resources: [.copy("Fixtures")]),
    ],
    // Kernels pass raw pointers into parallel closures; Swift 5 mode keeps that expressible
    // without wrapping every pointer. Shared mutable state still sits behind locks.
    swiftLanguageModes: [.v5]
)
