"""An outside package's plug-in: registers one decoder through the public hook, nothing more."""
import unigs


@unigs.hookimpl
def unigs_register_decoder(registry):
    # A lazy "module:Class" target: the module is imported only when the decoder is used.
    registry.add("exact-colour", "unigs_example_plugin.exact_colour:ExactColourDecoder")
