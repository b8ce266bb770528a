using Microsoft.CodeAnalysis;

namespace AutoKernel.Generator
{
    /// <summary>
    /// The AutoKernel source generator. It will turn tuned schedules into C# kernels and a typed
    /// model class; until the tuner and emitters land it registers no outputs.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class ModelGenerator : IIncrementalGenerator
    {
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
        }
    }
}
