import CDNNL

/// The compiled graphs' memory plan: buffers whose lives do not overlap share a block. A request
/// takes the smallest free block that fits, else grows the largest free one, else opens a new
/// block; the plan is made once at compile time, then laid out in one buffer.
struct BlockPlan {
    private(set) var sizes: [Int] = []
    private var free: Set<Int> = []
    /// Bytes requested in all, as if every buffer had its own block.
    private(set) var requested = 0

    mutating func allocate(_ bytes: Int) -> Int {
        requested += bytes
        // Ties go to the lower index: a Set's order differs run to run, the plan must not.
        if let b = free.filter({ sizes[$0] >= bytes }).min(by: { (sizes[$0], $0) < (sizes[$1], $1) }) {
            free.remove(b); return b
        }
        if let b = free.max(by: { (sizes[$0], $1) < (sizes[$1], $0) }) {
            free.remove(b); sizes[b] = bytes; return b
        }
        sizes.append(bytes); return sizes.count - 1
    }

    mutating func release(_ block: Int) { free.insert(block) }

    /// Each block's offset in one buffer (64-byte aligned, starting at `base`), and the end.
    func layout(from base: Int = 0) -> (offsets: [Int], end: Int) {
        var offsets: [Int] = [], end = base
        for s in sizes { offsets.append(end); end += (s + 63) & ~63 }
        return (offsets, end)
    }
}

/// The memory descriptor a primitive executes argument `arg` on.
func dnnlQueryMD(_ pd: dnnl_primitive_desc_t, _ arg: Int32) -> dnnl_memory_desc_t {
    dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg)!.pointee
}

func dnnlSameMD(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
    var x = a, y = b
    return dnnl_memory_desc_equal(&x, &y) != 0
}

func dnnlSize(_ md: dnnl_memory_desc_t) -> Int {
    var d = md
    return dnnl_memory_desc_get_size(&d)
}

/// Bytes of the user-managed scratchpad a primitive needs (0 if none).
func dnnlScratchpadBytes(_ pd: dnnl_primitive_desc_t) -> Int {
    dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0).map { dnnlSize($0.pointee) } ?? 0
}
