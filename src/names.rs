//! `name`/`parse`/`Display`/`FromStr` for the lab's small enums (task, architecture, head): one
//! lowercase name each, the same on the command line, in files and in the page.

/// Implements the lowercase names of an enum's variants.
macro_rules! names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The lowercase name used on the command line, in files and in the page.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
            /// Parses the lowercase name.
            pub fn parse(s: &str) -> $crate::error::Result<Self> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($name => Ok(Self::$variant),)+
                    other => Err($crate::error::GapError::Invalid(format!(
                        "unknown {} '{other}' (expected one of: {})",
                        stringify!($ty).to_ascii_lowercase(),
                        [$($name),+].join(", ")
                    ))),
                }
            }
        }
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(self.name()) }
        }
        impl std::str::FromStr for $ty {
            type Err = $crate::error::GapError;
            fn from_str(s: &str) -> $crate::error::Result<Self> { Self::parse(s) }
        }
    };
}

pub(crate) use names;
