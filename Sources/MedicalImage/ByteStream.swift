import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A forward-only stream of the decoded bytes of a file or a memory buffer, plain or gzip
/// (detected by its magic bytes, not the file name: LiTS-style `.nii` files are sometimes
/// gzipped and `.nii.gz` files sometimes are not).
///
/// Readers pull exactly the bytes they need into their own buffers, so a volume is decoded
/// straight into its final array without a second full-size copy of the file.
final class ByteStream {
    let path: String
    /// Size of the file (or buffer) as stored, compressed or not.
    let storedSize: Int
    private(set) var isGzip: Bool
    /// Decoded bytes handed out so far.
    private(set) var position: Int = 0

    private var fd: Int32 = -1
    private var memory: [UInt8] = []
    private var memoryOffset = 0
    private var input: UnsafeMutableRawBufferPointer
    private var inputStart = 0, inputEnd = 0
    private var inputEOF = false
    private var strm: UnsafeMutablePointer<z_stream>?
    private var gzipEnded = false

    private static let chunk = 1 << 18

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY)
        if fd < 0 {
            throw MedicalImageError(.io, path, "cannot open: \(String(cString: strerror(errno)))")
        }
        var st = stat()
        if fstat(fd, &st) != 0 || (st.st_mode & S_IFMT) != S_IFREG {
            close(fd)
            throw MedicalImageError(.io, path, "not a regular file")
        }
        storedSize = Int(st.st_size)
        input = .allocate(byteCount: ByteStream.chunk, alignment: 16)
        isGzip = false
        try fillInput()
        isGzip = peekGzipMagic()
        if isGzip { try startInflate() }
    }

    init(bytes: [UInt8], name: String) throws {
        path = name
        storedSize = bytes.count
        memory = bytes
        input = .allocate(byteCount: ByteStream.chunk, alignment: 16)
        isGzip = false
        try fillInput()
        isGzip = peekGzipMagic()
        if isGzip { try startInflate() }
    }

    deinit {
        if let s = strm { inflateEnd(s); s.deallocate() }
        if fd >= 0 { close(fd) }
        input.deallocate()
    }

    private func peekGzipMagic() -> Bool {
        inputEnd - inputStart >= 2 && input[inputStart] == 0x1f && input[inputStart + 1] == 0x8b
    }

    private func startInflate() throws {
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())
        // 15 + 32: maximal window, and let zlib detect the gzip header itself.
        let rc = inflateInit2_(s, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        if rc != Z_OK {
            s.deallocate()
            throw MedicalImageError(.badCompression, path, "zlib could not start (code \(rc))")
        }
        strm = s
    }

    /// Moves any unread input to the front and reads more from the source.
    private func fillInput() throws {
        if inputStart > 0 {
            let n = inputEnd - inputStart
            if n > 0 { memmove(input.baseAddress!, input.baseAddress! + inputStart, n) }
            inputStart = 0
            inputEnd = n
        }
        while !inputEOF && inputEnd < input.count {
            let room = input.count - inputEnd
            if fd >= 0 {
                let got = Glibc.read(fd, input.baseAddress! + inputEnd, room)
                if got < 0 {
                    if errno == EINTR { continue }
                    throw MedicalImageError(.io, path, "read failed: \(String(cString: strerror(errno)))")
                }
                if got == 0 { inputEOF = true; break }
                inputEnd += got
            } else {
                let n = min(room, memory.count - memoryOffset)
                if n == 0 { inputEOF = true; break }
                memory.withUnsafeBytes { src in
                    (input.baseAddress! + inputEnd).copyMemory(from: src.baseAddress! + memoryOffset, byteCount: n)
                }
                memoryOffset += n
                inputEnd += n
            }
        }
    }

    /// Reads up to `count` decoded bytes into `dst`; returns how many (0 only at the end).
    func readSome(_ dst: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        if count == 0 { return 0 }
        if !isGzip {
            var done = 0
            while done < count {
                if inputStart == inputEnd {
                    if inputEOF { break }
                    // Large requests bypass the staging buffer.
                    if fd >= 0 && count - done >= input.count {
                        let got = Glibc.read(fd, dst + done, count - done)
                        if got < 0 {
                            if errno == EINTR { continue }
                            throw MedicalImageError(.io, path, "read failed: \(String(cString: strerror(errno)))")
                        }
                        if got == 0 { inputEOF = true; break }
                        done += got
                        continue
                    }
                    try fillInput()
                    continue
                }
                let n = min(count - done, inputEnd - inputStart)
                (dst + done).copyMemory(from: input.baseAddress! + inputStart, byteCount: n)
                inputStart += n
                done += n
            }
            position += done
            return done
        }
        guard let s = strm else { return 0 }
        var done = 0
        inflating: while done < count && !gzipEnded {
            if inputStart == inputEnd && !inputEOF { try fillInput() }
            let availIn = inputEnd - inputStart
            s.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self) + inputStart
            s.pointee.avail_in = UInt32(availIn)
            let want = min(count - done, Int(UInt32.max))
            s.pointee.next_out = (dst + done).assumingMemoryBound(to: Bytef.self)
            s.pointee.avail_out = UInt32(want)
            let rc = inflate(s, Z_NO_FLUSH)
            let consumed = availIn - Int(s.pointee.avail_in)
            let produced = want - Int(s.pointee.avail_out)
            inputStart += consumed
            done += produced
            switch rc {
            case Z_OK:
                continue
            case Z_STREAM_END:
                // gzip -dc decodes concatenated members; so do we. Trailing zeros/garbage end it.
                if inputStart == inputEnd && !inputEOF { try fillInput() }
                if inputEnd - inputStart >= 2 && input[inputStart] == 0x1f && input[inputStart + 1] == 0x8b {
                    inflateReset(s)
                } else {
                    gzipEnded = true
                }
            case Z_BUF_ERROR:
                if inputEOF && inputStart == inputEnd {
                    if done > 0 { break inflating }
                    throw MedicalImageError(.truncated, path, "gzip stream ends early (after \(position) decoded bytes)")
                }
                continue
            default:
                let msg = s.pointee.msg.map { String(cString: $0) } ?? "code \(rc)"
                throw MedicalImageError(.badCompression, path, "broken gzip data: \(msg) (after \(position + done) decoded bytes)")
            }
        }
        position += done
        return done
    }

    /// Fills `dst` completely, or throws `truncated` naming `what` was being read.
    func readExactly(_ dst: UnsafeMutableRawPointer, _ count: Int, what: String) throws {
        var done = 0
        while done < count {
            let got = try readSome(dst + done, count - done)
            if got == 0 {
                throw MedicalImageError(.truncated, path,
                    "file ends inside the \(what): needed \(count) bytes at offset \(position - done), got \(done)")
            }
            done += got
        }
    }

    func readBytes(_ count: Int, what: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try readExactly($0.baseAddress!, count, what: what) }
        return out
    }

    /// Reads bytes until the stream ends (for small inputs only: DICOM files).
    func readToEnd(limit: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = try buf.withUnsafeMutableBytes { try readSome($0.baseAddress!, $0.count) }
            if got == 0 { break }
            out.append(contentsOf: buf[0..<got])
            if out.count > limit {
                throw MedicalImageError(.badHeader, path, "decoded data exceeds \(limit) bytes")
            }
        }
        return out
    }

    /// For gzip: decodes what follows the data so zlib checks the CRC and length trailer
    /// (a corrupted stream otherwise yields wrong voxels silently). Stops checking after
    /// `limit` trailing bytes, which no sane file has.
    func verifyGzipTrailer(limit: Int = 1 << 24) throws {
        guard isGzip else { return }
        var buf = [UInt8](repeating: 0, count: 1 << 14)
        var seen = 0
        while seen < limit {
            let got = try buf.withUnsafeMutableBytes { try readSome($0.baseAddress!, $0.count) }
            if got == 0 { return }
            seen += got
        }
    }

    func skip(_ count: Int, what: String) throws {
        var left = count
        var buf = [UInt8](repeating: 0, count: min(count, 1 << 16))
        while left > 0 {
            let n = min(left, buf.count)
            try buf.withUnsafeMutableBytes { try readExactly($0.baseAddress!, n, what: what) }
            left -= n
        }
    }

    /// Upper bound of the decoded size: deflate cannot expand more than 1032:1, so a header
    /// promising more than that of a gzip file is a lie we can refuse before allocating.
    var maxDecodedSize: Int {
        isGzip ? storedSize.multipliedReportingOverflow(by: 1032).partialValue : storedSize
    }
}
