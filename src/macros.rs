//! Macros shared by the crate's modules.

/// Builder methods that each set one field and return the changed value:
///
/// ```ignore
/// setters! {
///     /// Epochs of training.
///     epochs(epochs: usize) => train.epochs;
/// }
/// ```
///
/// makes `pub fn epochs(mut self, epochs: usize) -> Self` setting
/// `self.train.epochs = epochs.into()` (so `impl Into<T>` arguments work).
macro_rules! setters {
    ($($(#[$attr:meta])* $name:ident($arg:ident: $ty:ty) => $($field:ident).+;)+) => {
        $(
            $(#[$attr])*
            pub fn $name(mut self, $arg: $ty) -> Self {
                self.$($field).+ = $arg.into();
                self
            }
        )+
    };
}
