// The priority queue both tokenizers merge from: a binary heap whose top is the element that comes
// `before` all others (lowest BPE rank; highest SentencePiece score). Stale entries are the caller's
// to skip.

protocol MergeOrdered {
    func before(_ other: Self) -> Bool
}

struct MergeQueue<Element: MergeOrdered> {
    private var heap: [Element] = []

    mutating func removeAll() { heap.removeAll(keepingCapacity: true) }

    @inline(__always)
    mutating func push(_ e: Element) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if !e.before(heap[p]) { break }
            heap[i] = heap[p]
            i = p
        }
        heap[i] = e
    }

    mutating func pop() -> Element? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        // Sift `last` down from the root.
        var i = 0
        let n = heap.count
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var c = l
            if l + 1 < n && heap[l + 1].before(heap[l]) { c = l + 1 }
            if !heap[c].before(last) { break }
            heap[i] = heap[c]
            i = c
        }
        heap[i] = last
        return top
    }
}
