import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Timings and memory of the engine and pipelines.")
    func run() throws { print("bench: not built yet") }
}
