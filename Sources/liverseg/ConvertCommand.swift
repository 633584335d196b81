import ArgumentParser
import Foundation
import MedicalImage

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a NIfTI file or DICOM series to NIfTI (.nii or .nii.gz), keeping the geometry exactly.",
        discussion: """
            The affine goes to both qform and sform, so nibabel, SimpleITK, 3D Slicer and ITK-SNAP agree.
            --type auto writes int16 when every value is a whole number in int16's range (CT in HU), else float32.
            """)

    @Argument(help: "NIfTI file, DICOM file, or DICOM folder.")
    var input: String

    @Argument(help: "Output .nii or .nii.gz file (written atomically).")
    var output: String

    @Option(help: "On-disk type: auto, float32, int16, uint8 (label maps).")
    var type: String = "auto"

    @Option(name: .customLong("series"), help: "SeriesInstanceUID to read when a DICOM folder holds several series.")
    var series: String?

    @Option(help: "Reorient the voxels to these axis codes first (e.g. RAS, LPS); the world geometry is unchanged.")
    var orient: String?

    func validate() throws {
        let lower = output.lowercased()
        guard lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz") else {
            throw ValidationError("OUTPUT must end in .nii or .nii.gz, got \(output)")
        }
        guard ["auto", "float32", "int16", "uint8"].contains(type) else {
            throw ValidationError("--type must be auto, float32, int16 or uint8")
        }
    }

    func run() throws {
        let out = URL(fileURLWithPath: output)
        if type == "uint8" {
            var labels = try MedicalImageReader.readLabels(URL(fileURLWithPath: input))
            if let o = orient { labels = try labels.reoriented(to: o).volume }
            try NIfTI.write(labels, to: out)
            print("wrote \(output): \(labels.shape) uint8, \(labels.geometry.axisCodes)")
            return
        }
        var volume = try MedicalImageReader.read(URL(fileURLWithPath: input), seriesUID: series)
        if let o = orient { volume = try volume.reoriented(to: o).volume }
        var voxelType: VoxelType = type == "int16" ? .int16 : .float32
        if type == "auto" {
            let whole = volume.voxels.allSatisfy { $0 == $0.rounded() && $0 >= -32768 && $0 <= 32767 }
            voxelType = whole ? .int16 : .float32
        }
        try NIfTI.write(volume, to: out, as: voxelType)
        print("wrote \(output): \(volume.shape) \(voxelType.rawValue), \(volume.geometry.axisCodes)")
    }
}
