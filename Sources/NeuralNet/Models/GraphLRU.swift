/// A network's compiled graphs, one per key, at most `capacity` of them (each holds buffers and
/// weight copies): beyond it the least recently used goes.
struct GraphLRU<Key: Hashable, Entry> {
    let capacity: Int
    private var slots: [Key: (entry: Entry, lastUse: Int)] = [:]
    private var clock = 0

    init(capacity: Int) { self.capacity = capacity }

    var entries: [Entry] { slots.values.map(\.entry) }
    var keys: [Key] { Array(slots.keys) }

    /// The entry for `key`, made by `make` where missing (after evicting the least recently used
    /// one when full), and marked as used now.
    mutating func entry(_ key: Key, make: () -> Entry) -> Entry {
        clock += 1
        if var slot = slots[key] {
            slot.lastUse = clock
            slots[key] = slot
            return slot.entry
        }
        if slots.count >= capacity, let oldest = slots.min(by: { $0.value.lastUse < $1.value.lastUse })?.key { slots[oldest] = nil }
        let e = make()
        slots[key] = (e, clock)
        return e
    }

    /// Replaces the entry of a key that `entry` returned.
    mutating func set(_ key: Key, _ e: Entry) { slots[key]?.entry = e }
}
