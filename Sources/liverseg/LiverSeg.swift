import ArgumentParser
import Tensor

@main
struct LiverSegCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "liverseg",
        abstract: "Liver and liver-tumor segmentation of abdominal CT (one-step U-Net or sequential cascade).",
        subcommands: [DemoCommand.self, TrainCommand.self, SegmentCommand.self, ExperimentCommand.self, BenchCommand.self, EvaluateCommand.self, ReportCommand.self, InfoCommand.self, ConvertCommand.self, SynthCommand.self]
    )

    /// Flushing denormals is set before any other thread exists, so that every thread the
    /// process starts (dispatch workers, OpenMP teams) inherits it (`Denormals`).
    static func main() {
        Denormals.flushOnThisThread()
        main(nil)
    }
}
