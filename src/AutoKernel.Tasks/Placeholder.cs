namespace AutoKernel.Tasks
{
    internal static class Placeholder { }
}
