import Foundation

/// Writes files so that a reader never sees a half-written one and a failed write never
/// destroys what was there: the bytes go to a temporary file in the same directory
/// (same file system, so the rename is atomic), are flushed, then renamed over the target.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot write \(path): \(reason)" }
    }

    /// Writes `data` to `url` atomically, creating parent directories as needed.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { handle in try handle.write(contentsOf: data) }
    }

    /// Streams content through `body` into a temporary file, then renames it over `url`.
    /// On any error the temporary file is removed and `url` is left untouched.
    public static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        let fm = FileManager.default
        let dir = url.deletingLastPathComponent()
        do {
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw WriteError(path: url.path, reason: "cannot create directory \(dir.path): \(error.localizedDescription)")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard fm.createFile(atPath: tmp.path, contents: nil) else {
            throw WriteError(path: url.path, reason: "cannot create temporary file in \(dir.path) (\(String(cString: strerror(errno))))")
        }
        do {
            let handle = try FileHandle(forWritingTo: tmp)
            do {
                try body(handle)
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            if rename(tmp.path, url.path) != 0 {
                throw WriteError(path: url.path, reason: "rename failed: \(String(cString: strerror(errno)))")
            }
        } catch let e as WriteError {
            try? fm.removeItem(at: tmp)
            throw e
        } catch {
            try? fm.removeItem(at: tmp)
            throw WriteError(path: url.path, reason: "\(error.localizedDescription) (is the disk full?)")
        }
    }
}
