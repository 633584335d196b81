import ArgumentParser

@main
struct LiverSegCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "liverseg",
        abstract: "Liver and liver-tumor segmentation of abdominal CT (one-step U-Net or sequential cascade).",
        subcommands: [DemoCommand.self, TrainCommand.self, SegmentCommand.self, ExperimentCommand.self, BenchCommand.self, EvaluateCommand.self, ReportCommand.self, InfoCommand.self, ConvertCommand.self, SynthCommand.self]
    )
}
