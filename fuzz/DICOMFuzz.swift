// libFuzzer target for the DICOM reader (all transfer syntaxes, sequences, RLE): any bytes must
// give a volume or a MedicalImageError, never a trap or a sanitizer report.
import MedicalImage

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDICOM(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? DICOMSeries.read(bytes: bytes, name: "fuzz.dcm")
    return 0
}
