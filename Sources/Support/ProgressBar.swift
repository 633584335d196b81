import Foundation

/// A one-line progress bar on stderr: done/total, rate, ETA and a caller's status text.
/// On a terminal it redraws in place; in logs (CI, files) it prints a line every few seconds.
public final class ProgressBar {
    let total: Int
    let label: String
    let start = ProcessStats.now()
    var lastDraw = -1.0
    let interactive = isatty(2) != 0
    public private(set) var done = 0

    public init(total: Int, label: String) {
        self.total = max(total, 1)
        self.label = label
    }

    /// Advances by `n` units and redraws if it is time to.
    public func advance(_ n: Int = 1, status: @autoclosure () -> String = "") {
        done = min(total, done + n)
        let now = ProcessStats.now()
        let interval = interactive ? 0.2 : 10
        if done == total || now - lastDraw >= interval {
            lastDraw = now
            draw(status(), now: now)
        }
    }

    /// Ends the line (always prints the final state).
    public func finish(status: String = "") {
        draw(status, now: ProcessStats.now())
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    func draw(_ status: String, now: Double) {
        let elapsed = now - start
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 24
        let filled = Int(Double(width) * Double(done) / Double(total))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = "\(label) \(bar) \(done)/\(total) \(String(format: "%.2f", rate))/s ETA \(Self.clock(eta)) \(status)"
        FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    public static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
