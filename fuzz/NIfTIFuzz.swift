// libFuzzer target for the NIfTI reader (plain and gzip): any bytes must give a volume or a
// MedicalImageError, never a trap, a sanitizer report, or a huge allocation.
import MedicalImage

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNIfTI(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? NIfTI.read(bytes: bytes, name: "fuzz.nii")
    _ = try? NIfTI.readLabels(bytes: bytes, name: "fuzz.nii")
    return 0
}
