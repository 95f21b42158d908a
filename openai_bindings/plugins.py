"""The plugin manager: built-ins and entry-point plugins, loaded once, lazily.

Loading is deferred to the first client (or ``openai-bindings plugins``) so that
``import openai_bindings`` never scans the installed distributions. A plugin that
fails to import or register is reported (a warning naming it and the error, and
a row in ``openai-bindings plugins``) and everything else keeps working.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
import warnings
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from ._imports import importable

if TYPE_CHECKING:
    import pluggy

__all__ = [
    "ENTRY_POINT_GROUP",
    "PLUGINS_ENV",
    "BuiltinClass",
    "PluginFailure",
    "PluginLoadWarning",
    "Registered",
    "Registry",
    "get_plugin_manager",
    "get_registry",
    "reset",
]

ENTRY_POINT_GROUP = "openai_bindings"
#: Comma-separated entry-point or distribution names to load; empty loads none; unset loads all.
PLUGINS_ENV = "OPENAI_BINDINGS_PLUGINS"
BUILTIN = "built-in"
_BUILTIN_MODULES = ("openai_bindings.transports", "openai_bindings.providers")


class PluginLoadWarning(UserWarning):
    """A plugin could not be imported or registered; the rest keeps working."""

    #: Which plugin failed and why, for hosts that report it their own way (the CLI's one line).
    failure: PluginFailure | None = None


class BuiltinClass:
    """A built-in transport or provider named by where it lives ("module:Class"), imported when
    first used: a cold start then imports the one transport and the one provider it uses, not
    all of them. Only the built-ins register these (their names are tested against their
    classes); a plugin registers its class itself, as before."""

    __slots__ = ("name", "path")

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path

    def load(self) -> type:
        module, _, attribute = self.path.partition(":")
        cls: type = getattr(importlib.import_module(module), attribute)
        return cls

    def __repr__(self) -> str:
        return f"BuiltinClass({self.name!r}, {self.path!r})"


class BuiltinTable:
    """The built-in classes of one package (transports, providers): each as (its registered
    name, its module in the package, its class name). The package's ``__getattr__`` imports a
    class's module when the class is first asked for, and its registration hook registers each
    as a ``BuiltinClass``, so nothing is imported until used."""

    def __init__(self, package: str, builtins: Tuple[Tuple[str, str, str], ...]) -> None:
        self.package = package
        self.builtins = builtins
        self.modules = {cls: module for _, module, cls in builtins}

    def attribute(self, name: str) -> Any:
        """The package's module-level ``__getattr__``: a class, imported on first use."""
        module = self.modules.get(name)
        if module is None:
            raise AttributeError(f"module {self.package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{self.package}.{module}"), name)
        setattr(importlib.import_module(self.package), name, value)  # asked once
        return value

    def register_all(self, register: Callable[[Any], None]) -> None:
        for name, module, cls in self.builtins:
            register(BuiltinClass(name, f"{self.package}.{module}:{cls}"))


class Registered:
    """A transport or provider class and who registered it."""

    __slots__ = ("_cls", "name", "origin", "plugin")

    def __init__(self, name: str, cls: type | BuiltinClass, origin: str, plugin: str) -> None:
        self.name = name
        self._cls = cls
        self.origin = origin  # "built-in" or the distribution's name
        self.plugin = plugin  # the pluggy plugin name (the entry point's name)

    @property
    def cls(self) -> type:
        """The class (a built-in's module is imported the first time it is asked for)."""
        cls = self._cls
        if isinstance(cls, BuiltinClass):
            cls = self._cls = cls.load()
        return cls

    @cls.setter
    def cls(self, value: type) -> None:  # writable, as the attribute it was
        self._cls = value

    def __repr__(self) -> str:
        return f"Registered(name={self.name!r}, cls={self.cls!r}, origin={self.origin!r})"

    @property
    def missing(self) -> list[str]:
        """Modules the class declares in ``requires`` that are not installed here."""
        return [module for module in getattr(self.cls, "requires", ()) if not importable(module)]

    @property
    def extra(self) -> str | None:
        return getattr(self.cls, "extra", None)

    @property
    def install_hint(self) -> str:
        if self.origin == BUILTIN and self.extra:
            return f"pip install 'openai-bindings[{self.extra}]'"
        return f"pip install {' '.join(self.missing)}"

    @property
    def unusable_reason(self) -> str | None:
        """Why the class cannot be used here, or None: a missing module, or the class's own
        ``unusable_reason()`` (a transport that needs a particular host, such as ``fetch``)."""
        if self.missing:
            return f"needs {', '.join(self.missing)} ({self.install_hint})"
        check = getattr(self.cls, "unusable_reason", None)
        if not callable(check):
            return None
        try:
            reason = check()
        except Exception as error:  # a plugin's check must not take the listing down
            return f"its unusable_reason() failed: {type(error).__name__}: {error}"
        return str(reason) if reason else None

    @property
    def usable(self) -> bool:
        return self.unusable_reason is None


class PluginFailure:
    """A plugin that did not load, and why (shown by ``openai-bindings plugins``)."""

    __slots__ = ("error", "origin", "plugin")

    def __init__(self, plugin: str, origin: str, error: str) -> None:
        self.plugin = plugin
        self.origin = origin
        self.error = error

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PluginFailure):
            return NotImplemented
        return (self.plugin, self.origin, self.error) == (other.plugin, other.origin, other.error)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PluginFailure(plugin={self.plugin!r}, origin={self.origin!r}, error={self.error!r})"


def _manager_class() -> Any:
    """The plugin manager class; pluggy (and inspect with it) loads with the first client, not at import."""
    import pluggy

    class Manager(pluggy.PluginManager):
        """A plugin manager that tells its registry when plugins come or go (the hooks' users cache
        which hooks are implemented; a plugin registered at run time must be seen)."""

        on_change: Callable[[], None] = staticmethod(lambda: None)

        def register(self, plugin: object, name: Optional[str] = None) -> Optional[str]:
            try:
                return super().register(plugin, name)
            finally:
                self.on_change()

        def unregister(self, plugin: Optional[object] = None, name: Optional[str] = None) -> Any:
            try:
                return super().unregister(plugin, name)
            finally:
                self.on_change()

    return Manager


class Registry:
    """Everything the plugins registered, by kind and name.

    The pluggy manager is made when first needed: at load when an entry-point plugin is
    installed, else on first use of ``manager`` (``get_plugin_manager()``, a plugin
    registered at run time). Until then only the built-ins are loaded, their hooks are
    called directly (``_direct_hooks``), and no observation hook is implemented.
    """

    def __init__(self, manager: Optional[pluggy.PluginManager] = None) -> None:
        self._manager = manager
        self.transports: Dict[str, Registered] = {}
        self.providers: Dict[str, Registered] = {}
        self.failures: List[PluginFailure] = []
        self.origins: Dict[str, str] = {}
        self._observers: Any = None
        self._choosers: Optional[List[_Impl]] = None  # the built-ins' choose_transport, without a manager
        self._lock = threading.Lock()

    @property
    def manager(self) -> pluggy.PluginManager:
        """The pluggy manager, with the built-ins and the loaded plugins registered."""
        if self._manager is None:
            with self._lock:
                if self._manager is None:
                    self._manager = _new_manager(self)
        return self._manager

    @property
    def observers(self) -> Any:
        """Which observation hooks are implemented (worked out once per plugin change)."""
        if self._observers is None:
            from ._observe import Observers

            # Without a manager only the built-ins are loaded, and they observe nothing.
            self._observers = Observers(self._manager) if self._manager is not None else Observers(None)
        return self._observers

    def choose_transport(self, is_async: bool, provider: str) -> Optional[str]:
        """The ``choose_transport`` hooks' first answer (firstresult), or None."""
        if self._manager is not None:
            chosen: Optional[str] = self._manager.hook.choose_transport(is_async=is_async, provider=provider)
            return chosen
        arguments = {"is_async": is_async, "provider": provider}
        if self._choosers is None:  # read from the built-in modules once, not per client
            self._choosers = _direct_hooks("choose_transport")
        for _name, function, argnames in self._choosers:
            answer = function(**_arguments(argnames, arguments))
            if answer is not None:
                return str(answer)
        return None

    def fail(self, plugin: str, origin: str, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        failure = PluginFailure(plugin, origin, text)
        self.failures.append(failure)
        where = "" if origin in (plugin, BUILTIN) else f" from {origin}"
        warning = PluginLoadWarning(f"openai_bindings plugin {plugin!r}{where} was skipped: {text}")
        warning.failure = failure
        warnings.warn(warning, stacklevel=4)


_lock = threading.Lock()
_registry: Registry | None = None


def get_registry() -> Registry:
    """The loaded registry (loading the plugins on first use)."""
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = _load()
    return _registry


def get_plugin_manager() -> pluggy.PluginManager:
    """The pluggy manager, with built-ins and entry-point plugins registered."""
    return get_registry().manager


def reset() -> None:
    """Forget the loaded plugins, so the next use loads them again (tests, long-lived hosts)."""
    global _registry
    with _lock:
        _registry = None


def _allowed() -> set[str] | None:
    value = os.environ.get(PLUGINS_ENV)
    if value is None:
        return None
    return {_normalise(name) for name in value.split(",") if name.strip()}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def _entry_points() -> Iterator[tuple[Any, str]]:
    """Our group's entry points, with their distribution's name (the first on sys.path wins,
    as for imports). Read from the metadata directories without importlib.metadata where
    that sees the same (``_entrypoints``: 15-20 ms of a cold start), else through it."""
    from . import _entrypoints

    found = _entrypoints.scan(ENTRY_POINT_GROUP)
    seen: set[str] = set()
    for ep, name in found if found is not None else _metadata_entry_points():
        if ep.name not in seen:
            seen.add(ep.name)
            yield ep, name


def _metadata_entry_points() -> Iterator[tuple[Any, str]]:
    """``importlib.metadata``'s answer: entry_points.txt of every distribution, and the
    METADATA (an email message to parse) just for the distributions that have one of ours."""
    import importlib.metadata

    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        yield ep, (dist.metadata["Name"] if dist is not None else None) or "unknown distribution"


def _builtin_modules() -> List[Tuple[str, Any]]:
    """The built-in plugins: (name, module)."""
    return [(name, importlib.import_module(name)) for name in _BUILTIN_MODULES]


def _load() -> Registry:
    allowed = _allowed()
    found = [
        (ep, dist_name)
        for ep, dist_name in _entry_points()
        if allowed is None or {_normalise(ep.name), _normalise(dist_name)} & allowed
    ]
    if not found:  # the built-ins alone: no plugin manager (nor pluggy) until one is asked for
        registry = Registry()
        for module_name in _BUILTIN_MODULES:
            registry.origins[module_name] = BUILTIN
        _collect(registry, _direct_hooks("register_transports"), registry.transports, _check_transport)
        _collect(registry, _direct_hooks("register_providers"), registry.providers, _check_provider)
        return registry

    registry = Registry()
    manager = registry.manager  # made now, with the built-ins registered
    for ep, dist_name in found:
        if manager.has_plugin(ep.name) or manager.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
            manager.register(plugin, name=ep.name)
        except Exception as error:  # a broken plugin must not take the host down
            registry.fail(ep.name, dist_name, error)
            continue
        registry.origins[ep.name] = dist_name
    _collect(registry, _pluggy_hooks(manager, "register_transports"), registry.transports, _check_transport)
    _collect(registry, _pluggy_hooks(manager, "register_providers"), registry.providers, _check_provider)
    return registry


def _new_manager(registry: Registry) -> pluggy.PluginManager:
    """A pluggy manager with the hook specifications and the built-ins; it tells the registry
    when plugins come or go (the observation hooks are worked out again)."""
    from . import hookspecs

    manager = _manager_class()(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for module_name, module in _builtin_modules():
        manager.register(module, name=module_name)
        registry.origins[module_name] = BUILTIN

    def forget_observers() -> None:
        registry._observers = None

    manager.on_change = forget_observers
    registry._observers = None
    return manager


#: One hook implementation, as the collectors call it: (plugin name, function, argument names).
_Impl = Tuple[str, Callable[..., Any], Tuple[str, ...]]


def _pluggy_hooks(manager: Any, hook_name: str) -> List[_Impl]:
    """A hook's implementations in calling order (pluggy lists them last-registered first)."""
    impls = getattr(manager.hook, hook_name).get_hookimpls()
    return [(impl.plugin_name, impl.function, tuple(impl.argnames)) for impl in reversed(impls)]


def _direct_hooks(hook_name: str) -> List[_Impl]:
    """The built-ins' implementations of a hook, read from their modules as pluggy would
    (the marker's attribute), for calling without a plugin manager."""
    from ._hookimpl import ATTRIBUTE

    impls: List[_Impl] = []
    for module_name, module in _builtin_modules():
        function = getattr(module, hook_name, None)
        if function is not None and getattr(function, ATTRIBUTE, None) is not None:
            code = function.__code__
            impls.append((module_name, function, code.co_varnames[: code.co_argcount]))
    return impls


def _check_transport(cls: Any) -> str | None:
    if not callable(getattr(cls, "send", None)):
        return "a transport needs a send(request) method"
    return None


def _check_provider(cls: Any) -> str | None:
    return None


def _collect(
    registry: Registry,
    impls: List[_Impl],
    table: dict[str, Registered],
    check: Callable[[Any], str | None],
) -> None:
    """Call one registration hook plugin by plugin, so one failure only loses that plugin.
    Built-ins come first, so plugins may override them."""
    for plugin_name, function, argnames in impls:
        origin = registry.origins.get(plugin_name, plugin_name)
        registered: list[Registered] = []

        def register(
            cls: Any, *, _origin: str = origin, _plugin: str = plugin_name, _into: list = registered
        ) -> None:
            if isinstance(cls, BuiltinClass) and _origin == BUILTIN:  # checked by the tests instead
                _into.append(Registered(cls.name, cls, _origin, _plugin))
                return
            name = getattr(cls, "name", None)
            if not isinstance(name, str) or not name:
                raise TypeError(f"{cls!r} has no 'name' (a non-empty string users select it by)")
            problem = check(cls)
            if problem:
                raise TypeError(f"{name!r}: {problem}")
            _into.append(Registered(name, cls, _origin, _plugin))

        try:
            function(**_arguments(argnames, {"register": register}))
        except Exception as error:
            registry.fail(plugin_name, origin, error)
            continue
        for entry in registered:
            table[entry.name] = entry


def _arguments(argnames: Iterable[str], available: dict[str, Any]) -> dict[str, Any]:
    return {name: available[name] for name in argnames if name in available}
