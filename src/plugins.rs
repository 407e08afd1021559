//! Tables of plug-ins that scenario files name — update rules (`update: Sip(…)`), network
//! kinds (`network: Mlp(…)`) — each entry a registered name with a serde parameter struct.
//!
//! A plug-in is written like an enum variant: `Name(field: value, …)`, or the bare `Name` for a
//! parameter-less (zero-sized) struct. The parameters are read straight from the scenario text
//! through a type-erased deserializer, so nested enums work and typos are reported at their
//! position. While a scenario is parsed, a registry's tables are the parsing thread's active
//! ones ([`Table::activate`]); outside a parse, each kind's built-in table is.

use serde::de::{self, DeserializeOwned, EnumAccess, MapAccess, VariantAccess, Visitor};
use serde::Serialize;
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

type Parse<T> = dyn for<'de> Fn(
        &mut dyn erased_serde::Deserializer<'de>,
    ) -> Result<(Arc<T>, String), erased_serde::Error>
    + Send
    + Sync;

struct Entry<T: ?Sized> {
    description: String,
    /// Parameter-less plug-in, written as a bare name.
    unit: bool,
    parse: Box<Parse<T>>,
}

/// Plug-ins of one kind (`T`, a trait object such as `dyn RuleSpec`) by the name scenarios use.
pub struct Table<T: ?Sized> {
    entries: BTreeMap<String, Arc<Entry<T>>>,
}

impl<T: ?Sized> Clone for Table<T> {
    fn clone(&self) -> Self {
        Table {
            entries: self.entries.clone(),
        }
    }
}

impl<T: ?Sized> Default for Table<T> {
    fn default() -> Self {
        Table {
            entries: BTreeMap::new(),
        }
    }
}

impl<T: ?Sized> fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries.keys()).finish()
    }
}

thread_local! {
    /// The active table of each plug-in kind on this thread, by the table's type.
    static ACTIVE: RefCell<HashMap<TypeId, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

impl<T: ?Sized + 'static> Table<T> {
    /// Registers `name` with parameter struct `P`, turned into the plug-in by `into` (e.g.
    /// `|p| Arc::new(p)`). A zero-sized `P` is written as the bare name. A later registration
    /// under the same name replaces the earlier one.
    pub fn register<P>(&mut self, name: &str, description: &str, into: fn(P) -> Arc<T>)
    where
        P: Serialize + DeserializeOwned + 'static,
    {
        let parse: Box<Parse<T>> = Box::new(move |d| {
            let params: P = erased_serde::deserialize(d)?;
            let text = ron::to_string(&params).map_err(de::Error::custom)?;
            Ok((into(params), text))
        });
        self.entries.insert(
            name.to_string(),
            Arc::new(Entry {
                description: description.to_string(),
                unit: std::mem::size_of::<P>() == 0,
                parse,
            }),
        );
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    /// One-line description of a registered plug-in.
    pub fn description(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(|e| e.description.as_str())
    }

    /// Runs `f` with this table as the thread's active table of its kind, restoring the
    /// previous one afterwards (also on a panic).
    pub fn activate<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(TypeId, Option<Box<dyn Any>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                ACTIVE.with(|a| match self.1.take() {
                    Some(previous) => {
                        a.borrow_mut().insert(self.0, previous);
                    }
                    None => {
                        a.borrow_mut().remove(&self.0);
                    }
                });
            }
        }
        let key = TypeId::of::<Table<T>>();
        let previous = ACTIVE.with(|a| a.borrow_mut().insert(key, Box::new(self.clone())));
        let _restore = Restore(key, previous);
        f()
    }

    /// The thread's active table of this kind, or `builtin` outside a parse.
    pub fn active_or(builtin: &Table<T>) -> Table<T> {
        ACTIVE.with(|a| {
            a.borrow()
                .get(&TypeId::of::<Table<T>>())
                .and_then(|t| t.downcast_ref::<Table<T>>())
                .cloned()
                .unwrap_or_else(|| builtin.clone())
        })
    }
}

/// A plug-in as a scenario names it: the registered name, the parameters as RON with every
/// default resolved, and the plug-in.
pub struct Named<T: ?Sized> {
    /// The registered name, e.g. `GaussNewton`.
    pub name: String,
    /// The parameters as RON (`(truncation:1e-6)`), empty for a bare name.
    pub params: String,
    /// Whether it is written as a bare name.
    pub unit: bool,
    /// The parameter struct as the plug-in.
    pub value: Arc<T>,
}

impl<T: ?Sized> Clone for Named<T> {
    fn clone(&self) -> Self {
        Named {
            name: self.name.clone(),
            params: self.params.clone(),
            unit: self.unit,
            value: Arc::clone(&self.value),
        }
    }
}

impl<T: ?Sized> Named<T> {
    /// The plug-in as RON, e.g. `Hig(truncation:1e-10,exponent:0.5)`, or the bare name.
    pub fn text(&self) -> String {
        if self.unit {
            self.name.clone()
        } else {
            format!("{}{}", self.name, self.params)
        }
    }
}

/// How a kind of plug-in reads in messages.
#[derive(Debug)]
pub struct Kind {
    /// E.g. `update rule`.
    pub what: &'static str,
    /// What a value looks like, e.g. `an update rule such as Sip(…), Bptt() or Hig(…)`.
    pub expecting: &'static str,
    /// Renamed plug-ins `(old, new)`: the old name is an error naming the new one.
    pub renamed: &'static [(&'static str, &'static str)],
    /// Added to the error when the name is missing (e.g. an earlier form without a name).
    pub unnamed: &'static str,
}

/// Reads a plug-in of `kind` from `deserializer`, resolving its name in the thread's active
/// table (or `builtin`).
///
/// # Errors
/// An unknown or renamed name (listing the registered ones), a missing name, or parameters that
/// do not parse, at their position.
pub fn deserialize<'de, D, T>(
    deserializer: D,
    kind: &'static Kind,
    builtin: &'static Table<T>,
) -> Result<Named<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: ?Sized + 'static,
{
    deserializer.deserialize_enum("plug-in", &[], NamedVisitor { kind, builtin })
}

struct NamedVisitor<T: ?Sized + 'static> {
    kind: &'static Kind,
    builtin: &'static Table<T>,
}

impl<'de, T: ?Sized + 'static> Visitor<'de> for NamedVisitor<T> {
    type Value = Named<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.expecting)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Named<T>, A::Error> {
        let (PluginName(name), variant): (PluginName, A::Variant) =
            data.variant_seed(NameSeed(self.kind))?;
        let table = Table::active_or(self.builtin);
        let entry = table.entries.get(&name).cloned().ok_or_else(|| {
            let what = self.kind.what;
            de::Error::custom(
                match self.kind.renamed.iter().find(|(old, _)| *old == name) {
                    Some((old, new)) => format!(
                        "the {what} `{old}` is now called `{new}`: write `{new}(…)` with the same \
                     parameters"
                    ),
                    None => format!(
                        "unknown {what} `{name}`; registered: {}",
                        table.names().join(", ")
                    ),
                },
            )
        })?;
        let (value, params) = if entry.unit {
            variant.unit_variant()?;
            let mut unit = <dyn erased_serde::Deserializer>::erase(de::value::UnitDeserializer::<
                erased_serde::Error,
            >::new());
            (entry.parse)(&mut unit).map_err(de::Error::custom)?
        } else {
            variant.struct_variant(&[], ParamsVisitor(&entry, self.kind))?
        };
        Ok(Named {
            name,
            params,
            unit: entry.unit,
            value,
        })
    }
}

/// A plug-in's name, read as an identifier (the enum variant's name).
struct PluginName(String);

struct NameSeed(&'static Kind);

impl<'de> de::DeserializeSeed<'de> for NameSeed {
    type Value = PluginName;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<PluginName, D::Error> {
        struct NameVisitor(&'static Kind);
        impl Visitor<'_> for NameVisitor {
            type Value = PluginName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "the name of a {}", self.0.what)
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<PluginName, E> {
                Ok(PluginName(name.to_string()))
            }
        }
        let kind = self.0;
        deserializer
            .deserialize_identifier(NameVisitor(kind))
            .map_err(|e| {
                if kind.unnamed.is_empty() {
                    e
                } else {
                    de::Error::custom(format!("{e}: {}", kind.unnamed))
                }
            })
    }
}

struct ParamsVisitor<'a, T: ?Sized>(&'a Entry<T>, &'static Kind);

impl<'de, T: ?Sized> Visitor<'de> for ParamsVisitor<'_, T> {
    type Value = (Arc<T>, String);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {}'s parameters in parentheses", self.1.what)
    }

    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
        let mut params =
            <dyn erased_serde::Deserializer>::erase(de::value::MapAccessDeserializer::new(map));
        (self.0.parse)(&mut params).map_err(de::Error::custom)
    }
}
