//! Controlled vocabularies: enums that travel as stable snake_case strings and show a Chinese
//! label to people. One macro writes the boilerplate so every list behaves the same way.

use std::fmt;

use crate::error_code::ErrorCode;

/// A string that is not one of a controlled vocabulary's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    what: &'static str,
    code: ErrorCode,
    value: String,
}

impl UnknownValue {
    /// The longest part of the rejected input kept for logs and messages.
    const KEEP_CHARS: usize = 40;

    pub(crate) fn new(what: &'static str, code: ErrorCode, value: &str) -> Self {
        Self {
            what,
            code,
            value: value.chars().take(Self::KEEP_CHARS).collect(),
        }
    }

    /// Stable machine code, e.g. `invalid_occupation_group`.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The rejected input (at most 40 characters of it).
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}不在可选范围内", self.what)
    }
}

impl std::error::Error for UnknownValue {}

/// Declares a vocabulary enum: `ALL`, `as_str`, `parse`, `label_zh`, `Display`, `FromStr` and
/// serde as its string form (deserialising through `parse`).
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            what = $what:literal,
            code = $code:ident,
            $( $(#[$vmeta:meta])* $variant:ident = $s:literal => $label:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [Self] = &[ $( Self::$variant, )+ ];

            /// The stable snake_case form used in the API and the database.
            pub const fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $s, )+ }
            }

            /// The Chinese label shown to people.
            pub const fn label_zh(self) -> &'static str {
                match self { $( Self::$variant => $label, )+ }
            }

            /// Parses the snake_case form (surrounding whitespace is ignored).
            pub fn parse(s: &str) -> Result<Self, $crate::vocab::UnknownValue> {
                match s.trim() {
                    $( $s => Ok(Self::$variant), )+
                    _ => Err($crate::vocab::UnknownValue::new($what, $crate::error_code::ErrorCode::$code, s)),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::vocab::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::vocab::UnknownValue;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> Self {
                value.as_str()
            }
        }
    };
}

pub(crate) use string_enum;

#[cfg(test)]
mod tests {
    string_enum! {
        /// A test vocabulary.
        enum Colour {
            what = "颜色",
            code = InvalidField,
            Red = "red" => "红",
            DarkBlue = "dark_blue" => "深蓝",
        }
    }

    #[test]
    fn a_vocabulary_value_round_trips_through_its_string_form() {
        for value in Colour::ALL {
            assert_eq!(Colour::parse(value.as_str()), Ok(*value));
            assert_eq!(value.to_string(), value.as_str());
        }
        assert_eq!(Colour::parse(" dark_blue "), Ok(Colour::DarkBlue));
        assert_eq!(Colour::DarkBlue.label_zh(), "深蓝");
    }

    #[test]
    fn an_unknown_value_names_the_field_in_chinese_and_has_a_code() {
        let error = Colour::parse("Red").unwrap_err();
        assert_eq!(error.code(), "invalid_field");
        assert_eq!(error.to_string(), "颜色不在可选范围内");
        assert_eq!(error.value(), "Red");
    }

    #[test]
    fn a_vocabulary_value_serialises_as_its_string_and_deserialises_through_parse() {
        let value: Colour = serde::Deserialize::deserialize(serde::de::value::StrDeserializer::<
            serde::de::value::Error,
        >::new("dark_blue"))
        .unwrap();
        assert_eq!(value, Colour::DarkBlue);
        let rejected: Result<Colour, _> =
            serde::Deserialize::deserialize(serde::de::value::StrDeserializer::<
                serde::de::value::Error,
            >::new("green"));
        assert!(rejected.is_err());
    }
}
