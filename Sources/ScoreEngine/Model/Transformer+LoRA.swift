/// Low-rank adapters on a frozen model: attaching, merging, and the adapter terms of the forward
/// and backward passes, y += s · (x Aᵀ) Bᵀ with s = alpha / rank.
extension Transformer {
    /// Attaches `adapters` (made for this shape); from now on only they are trained and the base
    /// weights get no gradients. Replaces adapters already attached.
    public func attach(_ adapters: LoRAAdapters) throws {
        guard adapters.config == config else {
            throw ScoreError.invalidArgument("the adapters were made for another model shape")
        }
        self.adapters = adapters
        adaptersEnabled = true
        store.parts = []  // saved activations are sized by the adapter rank
    }

    /// Removes the adapters (the model is its base again) and returns them.
    @discardableResult
    public func detachAdapters() -> LoRAAdapters? {
        defer {
            adapters = nil
            store.parts = []
        }
        return adapters
    }

    /// Adds each adapter's update s·B·A into its base weight and detaches the adapters: a plain
    /// model that computes what the adapted one did (to float rounding).
    public func mergeAdapters() {
        addAdapterUpdatesToBase()
        detachAdapters()
    }

    /// Adds each adapter's update into its base weight, keeping the adapters attached (callers
    /// re-initialise them so the model computes the same).
    func addAdapterUpdatesToBase() {
        guard let adapters else { return }
        for l in 0..<config.nLayers {
            for target in LoRATarget.allCases {
                guard let site = adapters.site(layer: l, target: target) else { continue }
                addUpdate(site, of: adapters, into: weight(weightOffset(layer: l, target: target)))
            }
        }
    }

    /// W[out, in] += s · B[out, r] · A[r, in].
    func addUpdate(_ site: LoRASite, of adapters: LoRAAdapters, into w: UnsafeMutablePointer<Float>) {
        Blas.matmul(m: site.outWidth, n: site.inWidth, k: site.rank, alpha: site.scale,
                    a: adapters.parameters.pointer + site.b, lda: site.rank, b: adapters.parameters.pointer + site.a,
                    ldb: site.inWidth, beta: 1, c: w, ldc: site.inWidth, threads: threads)
    }

    /// Offset of a block's linear weight in `parameters`.
    func weightOffset(layer: Int, target: LoRATarget) -> Int {
        let o = layout.layers[layer]
        switch target {
        case .q: return o.wq
        case .k: return o.wk
        case .v: return o.wv
        case .o: return o.wo
        case .gate: return o.wGate
        case .up: return o.wUp
        case .down: return o.wDown
        }
    }

    /// Whether the base weights are trained (no adapters attached).
    public var trainsBase: Bool { adapters == nil }

    /// The values an optimizer updates: the adapters' when attached, else every weight.
    public var trainableParameters: FloatBuffer { adapters?.parameters ?? parameters }

    /// The gradients of `trainableParameters`.
    public var trainableGradients: FloatBuffer { adapters?.gradients ?? gradients }

    /// Element ranges of `trainableParameters` that receive weight decay (matrices).
    var trainableMatrixRanges: [Range<Int>] {
        if let adapters { return adapters.matrixRanges }
        return layout.tensors.filter { $0.shape.count >= 2 }.map { $0.offset..<($0.offset + $0.count) }
    }

    /// The adapter a forward pass applies to `target` of block `layer`: nil without adapters, with
    /// them switched off, or for an untargeted layer.
    func activeSite(layer: Int, target: LoRATarget) -> LoRASite? {
        guard adaptersEnabled, let adapters else { return nil }
        return adapters.site(layer: layer, target: target)
    }

    /// output[rows, out] += s · hidden · Bᵀ with hidden[rows, r] = input · Aᵀ (kept for backward).
    func loraForward(_ site: LoRASite, rows: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                     hidden: UnsafeMutablePointer<Float>, threads: Int) {
        guard let adapters else { return }
        let p = adapters.parameters.pointer
        Blas.matmulTransB(m: rows, n: site.rank, k: site.inWidth, a: input, lda: site.inWidth, b: p + site.a,
                          ldb: site.inWidth, c: hidden, ldc: site.rank, threads: threads)
        Blas.matmulTransB(m: rows, n: site.outWidth, k: site.rank, alpha: site.scale, a: hidden, lda: site.rank,
                          b: p + site.b, ldb: site.rank, beta: 1, c: output, ldc: site.outWidth, threads: threads)
    }

    /// Backward of `loraForward` for dOutput [rows, out]: dB += s · dOutputᵀ hidden,
    /// u = dOutput · B, dA += s · uᵀ input, dInput += s · u · A. `scratch` holds rows × rank values.
    func loraBackward(_ site: LoRASite, rows: Int, dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
                      hidden: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>,
                      scratch: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>, threads: Int) {
        guard let adapters else { return }
        let p = adapters.parameters.pointer
        Blas.matmulTransA(m: site.outWidth, n: site.rank, k: rows, alpha: site.scale, a: dOutput, lda: site.outWidth,
                          b: hidden, ldb: site.rank, beta: 1, c: gradients + site.b, ldc: site.rank, threads: threads)
        Blas.matmul(m: rows, n: site.rank, k: site.outWidth, a: dOutput, lda: site.outWidth, b: p + site.b,
                    ldb: site.rank, c: scratch, ldc: site.rank, threads: threads)
        Blas.matmulTransA(m: site.rank, n: site.inWidth, k: rows, alpha: site.scale, a: scratch, lda: site.rank,
                          b: input, ldb: site.inWidth, beta: 1, c: gradients + site.a, ldc: site.inWidth, threads: threads)
        Blas.matmul(m: rows, n: site.inWidth, k: site.rank, alpha: site.scale, a: scratch, lda: site.rank,
                    b: p + site.a, ldb: site.inWidth, beta: 1, c: dInput, ldc: site.inWidth, threads: threads)
    }
}
