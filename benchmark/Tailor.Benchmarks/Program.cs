using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmark/Tailor.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Tailor.Benchmarks.BenchmarkConfig).Assembly).Run(args);
