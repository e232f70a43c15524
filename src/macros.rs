//! Macros shared by the crate's modules.

/// Builder methods that each set one field and return the changed value:
///
/// ```text
/// setters! {
///     /// Epochs of training.
///     epochs(epochs: usize) => train.epochs;
///     /// The methods to compare.
///     methods(methods: &[&str]) => methods = to_strings(methods);
/// }
/// ```
///
/// makes `pub fn epochs(mut self, epochs: usize) -> Self` setting
/// `self.train.epochs = epochs.into()` (so `impl Into<T>` arguments work),
/// and `methods` setting `self.methods` to the value after `=`.
macro_rules! setters {
    ($($(#[$attr:meta])* $name:ident($arg:ident: $ty:ty) => $($field:ident).+ $(= $value:expr)?;)+) => {
        $(
            $(#[$attr])*
            pub fn $name(mut self, $arg: $ty) -> Self {
                self.$($field).+ = setters!(@value $arg $($value)?);
                self
            }
        )+
    };
    (@value $arg:ident) => {
        $arg.into()
    };
    (@value $arg:ident $value:expr) => {
        $value
    };
}
