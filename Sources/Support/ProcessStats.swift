import Foundation

/// Memory and time figures for benchmarks and progress reports.
public enum ProcessStats {
    /// Peak resident set size (VmHWM) in bytes, from /proc; nil where /proc is absent.
    public static func peakRSSBytes() -> Int? { statusField("VmHWM") }
    /// Current resident set size (VmRSS) in bytes.
    public static func rssBytes() -> Int? { statusField("VmRSS") }

    static func statusField(_ key: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }

    /// Monotonic seconds.
    public static func now() -> Double { seconds(CLOCK_MONOTONIC) }

    /// CPU seconds this process (all threads) has used: beside wall time it tells work apart
    /// from waiting for a core on a shared machine.
    public static func cpuSeconds() -> Double { seconds(CLOCK_PROCESS_CPUTIME_ID) }

    static func seconds(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
