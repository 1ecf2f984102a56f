#!/bin/sh
# Installs the lokt binary for this machine (Linux or macOS, x86_64 or aarch64) from a release.
#
#   curl -fsSL https://github.com/lokt-dev/lokt/releases/latest/download/install.sh | sh
#
# Settings, all optional, from the environment:
#   LOKT_VERSION      the release: "latest" (default), "v0.2.0" or "0.2.0"
#   LOKT_INSTALL_DIR  where lokt goes (default: $HOME/.local/bin); created if missing
#   LOKT_BASE_URL     the releases, or a mirror with the same layout (default:
#                     https://github.com/lokt-dev/lokt/releases): the latest release's files
#                     are at $LOKT_BASE_URL/latest/download/<file>, those of release v1.2.3 at
#                     $LOKT_BASE_URL/download/v1.2.3/<file>
#   LOKT_INSTALL_OS, LOKT_INSTALL_ARCH
#                     test hooks: answers that stand in for `uname -s` and `uname -m`
#
# It fetches lokt-<target>.tar.gz and SHA256SUMS with curl or wget, refuses the archive unless
# its SHA-256 is listed and matches, and only then puts lokt in place with mode 0755 (a rename,
# so a running lokt is never half overwritten). It never asks for sudo. Its temporary directory
# goes away on every exit. Everything happens in main, called on the last line, so a download
# of this script cut short by the network runs nothing.

set -u

DEFAULT_BASE_URL=https://github.com/lokt-dev/lokt/releases

tmp_dir=
staged=

say() {
	printf 'lokt install: %s\n' "$*"
}

err() {
	printf 'lokt install: error: %s\n' "$*" >&2
}

die() {
	err "$@"
	exit 1
}

cleanup() {
	if [ -n "$staged" ]; then rm -f "$staged"; fi
	if [ -n "$tmp_dir" ]; then rm -rf "$tmp_dir"; fi
}

usage() {
	cat <<'EOF'
Installs lokt from its releases: curl -fsSL <url of this script> | sh

Settings come from the environment:
  LOKT_VERSION      latest (default), v0.2.0 or 0.2.0
  LOKT_INSTALL_DIR  where lokt goes (default: $HOME/.local/bin)
  LOKT_BASE_URL     the releases URL, or a mirror with the same layout
                    (default: https://github.com/lokt-dev/lokt/releases)

Example: curl -fsSL <url> | LOKT_VERSION=v0.2.0 LOKT_INSTALL_DIR="$HOME/bin" sh
EOF
}

# Sets target (a `deno compile` target triple) from the OS and CPU, or refuses clearly.
detect_target() {
	os=${LOKT_INSTALL_OS:-$(uname -s)}
	arch=${LOKT_INSTALL_ARCH:-$(uname -m)}

	case $os in
	Linux) os_part=unknown-linux-gnu ;;
	Darwin) os_part=apple-darwin ;;
	MINGW* | MSYS* | CYGWIN* | Windows_NT)
		die "this script installs the Linux and macOS binaries. On Windows, download" \
			"lokt-x86_64-pc-windows-msvc.zip from $base_url/latest (check it against" \
			"SHA256SUMS there) and put lokt.exe in a folder on your PATH; note that on Windows" \
			"lokt judges locks by their TTL only."
		;;
	*)
		die "unsupported operating system: $os. lokt has binaries for Linux and macOS (and a .zip" \
			"for Windows at $base_url). Elsewhere, run it with Deno: deno run -A jsr:@lokt/cli"
		;;
	esac

	# A shell under Rosetta says x86_64 on Apple silicon: the native binary is the better one.
	if [ "$os" = Darwin ] && [ "$arch" = x86_64 ] && [ -z "${LOKT_INSTALL_ARCH:-}" ]; then
		if [ "$(sysctl -n sysctl.proc_translated 2>/dev/null)" = 1 ]; then arch=arm64; fi
	fi

	case $arch in
	x86_64 | amd64) arch_part=x86_64 ;;
	aarch64 | arm64) arch_part=aarch64 ;;
	*)
		die "unsupported CPU architecture: $arch ($os). lokt has binaries for x86_64 (amd64) and" \
			"aarch64 (arm64) only. Elsewhere, run it with Deno: deno run -A jsr:@lokt/cli"
		;;
	esac

	target=$arch_part-$os_part
}

# Sets fetch to the download tool, and refuses early when there is none.
pick_downloader() {
	if command -v curl >/dev/null 2>&1; then
		fetch=curl
	elif command -v wget >/dev/null 2>&1; then
		fetch=wget
	else
		die "curl or wget is needed to download lokt; install one of them and run this again"
	fi
}

# Sets hasher to the SHA-256 tool, and refuses early when there is none.
pick_hasher() {
	if command -v sha256sum >/dev/null 2>&1; then
		hasher=sha256sum
	elif command -v shasum >/dev/null 2>&1; then
		hasher=shasum
	elif command -v openssl >/dev/null 2>&1; then
		hasher=openssl
	else
		die "sha256sum, shasum or openssl is needed to verify the download; install one and run" \
			"this again"
	fi
}

# download URL FILE: fails (returns non-zero) on any HTTP error, leaving the reason on stderr.
download() {
	case $fetch in
	curl) curl -fsSL --connect-timeout 20 --retry 2 -o "$2" "$1" ;;
	wget) wget -q -T 30 -O "$2" "$1" ;;
	esac
}

# Sets actual to the lower-case hex SHA-256 of FILE in DIR.
sha256_of() {
	case $hasher in
	sha256sum) actual=$(cd "$1" && sha256sum "$2") || actual= ;;
	shasum) actual=$(cd "$1" && shasum -a 256 "$2") || actual= ;;
	openssl)
		# "SHA2-256(file)= <hex>" (or "SHA256(file)= <hex>"): the hash is the last word.
		actual=$(cd "$1" && openssl dgst -sha256 "$2") || actual=
		actual=${actual##* }
		;;
	esac
	actual=$(printf '%s' "${actual%% *}" | tr 'A-F' 'a-f')
}

is_sha256() {
	case $1 in
	*[!0-9a-f]*) return 1 ;;
	esac
	[ ${#1} -eq 64 ]
}

# Sets install_dir to an absolute path: the setting, with a leading ~ expanded, or the default.
resolve_install_dir() {
	install_dir=${LOKT_INSTALL_DIR:-}
	if [ -z "$install_dir" ]; then
		[ -n "${HOME:-}" ] || die "HOME is not set: set LOKT_INSTALL_DIR to the directory for lokt"
		install_dir=$HOME/.local/bin
	fi
	# A quoted setting keeps its ~ (LOKT_INSTALL_DIR="~/bin"): expand it as the shell would have.
	# shellcheck disable=SC2088
	case $install_dir in
	"~") install_dir=${HOME:?} ;;
	"~/"*) install_dir=${HOME:?}/${install_dir#"~/"} ;;
	/*) ;;
	*) install_dir=$(pwd)/$install_dir ;;
	esac
	case $install_dir in
	?*/) install_dir=${install_dir%/} ;;
	esac
}

not_writable() {
	die "cannot write to $1 (permission denied for user $(id -un 2>/dev/null || id -u))." \
		"Nothing was installed. Choose a directory you can write to, for example:" \
		"LOKT_INSTALL_DIR=\"\$HOME/.local/bin\" sh install.sh (or curl ... | LOKT_INSTALL_DIR=... sh)," \
		"or have its owner give you write access to it."
}

# Refuses before any download when lokt could not be put into install_dir: checks the directory,
# or the nearest existing parent that `mkdir -p` would create it in.
check_install_dir() {
	dir=$install_dir
	while [ ! -d "$dir" ]; do
		if [ -e "$dir" ] || [ -L "$dir" ]; then
			die "$dir is in the way of the install directory $install_dir: it is not a directory." \
				"Nothing was installed."
		fi
		dir=$(dirname "$dir")
	done
	if [ ! -w "$dir" ] || [ ! -x "$dir" ]; then not_writable "$dir"; fi
	if [ -d "$install_dir/lokt" ]; then
		die "$install_dir/lokt is a directory; move it away first. Nothing was installed."
	fi
}

# Prints the line that puts install_dir on PATH, with $HOME kept symbolic where it applies.
path_line() {
	shown=$install_dir
	if [ -n "${HOME:-}" ] && [ "$HOME" != / ]; then
		case $install_dir in
		"$HOME"/*) shown=\$HOME/${install_dir#"$HOME"/} ;;
		esac
	fi
	# shellcheck disable=SC2016 # $PATH is for the user's profile, not to expand here
	printf '    export PATH="%s:$PATH"\n' "$shown"
}

main() {
	case ${1:-} in
	-h | --help)
		usage
		return 0
		;;
	"") ;;
	*)
		usage >&2
		die "unknown argument: $1 (settings come from the environment, see above)"
		;;
	esac

	trap cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM

	base_url=${LOKT_BASE_URL:-$DEFAULT_BASE_URL}
	base_url=${base_url%/}

	detect_target
	asset=lokt-$target.tar.gz

	version=${LOKT_VERSION:-latest}
	case $version in
	latest)
		release_url=$base_url/latest/download
		;;
	*)
		bare=${version#v}
		case $bare in
		"" | [!0-9]* | *[!0-9A-Za-z.+-]*)
			die "LOKT_VERSION must be latest, or a release such as v0.2.0 or 0.2.0, not: $version"
			;;
		esac
		version=v$bare
		release_url=$base_url/download/$version
		;;
	esac

	resolve_install_dir
	check_install_dir
	pick_downloader
	pick_hasher
	command -v tar >/dev/null 2>&1 || die "tar is needed to unpack lokt; install it and run this again"

	tmp_dir=$(mktemp -d "${TMPDIR:-/tmp}/lokt-install.XXXXXX") ||
		die "cannot create a temporary directory (set TMPDIR to a writable directory)"

	say "downloading $asset ($version) from $release_url"
	download "$release_url/$asset" "$tmp_dir/$asset" ||
		die "could not download $release_url/$asset (see above): no such release, no binary for" \
			"$target in it, or the server could not be reached. Nothing was installed."
	download "$release_url/SHA256SUMS" "$tmp_dir/SHA256SUMS" ||
		die "could not download $release_url/SHA256SUMS, so $asset cannot be verified." \
			"Nothing was installed."

	expected=$(awk -v f="$asset" '{ sub(/\r$/, "") } $2 == f || $2 == ("*" f) { print $1; exit }' \
		"$tmp_dir/SHA256SUMS" | tr 'A-F' 'a-f')
	if ! is_sha256 "$expected"; then
		die "SHA256SUMS of release $version has no checksum for $asset, so it cannot be" \
			"verified. Nothing was installed."
	fi
	sha256_of "$tmp_dir" "$asset"
	if [ "$actual" != "$expected" ]; then
		die "checksum mismatch for $asset: SHA256SUMS says $expected, the download is" \
			"${actual:-unreadable}. The download is corrupt or was tampered with." \
			"Nothing was installed."
	fi
	say "verified $asset (sha256 $actual)"

	mkdir "$tmp_dir/unpacked" || die "cannot write to the temporary directory $tmp_dir"
	tar -xzf "$tmp_dir/$asset" -C "$tmp_dir/unpacked" ||
		die "could not unpack $asset. Nothing was installed."
	if [ ! -f "$tmp_dir/unpacked/lokt" ] || [ -L "$tmp_dir/unpacked/lokt" ]; then
		die "$asset holds no lokt binary. Nothing was installed."
	fi

	mkdir -p "$install_dir" 2>/dev/null || not_writable "$install_dir"
	# Copy next to the target, then rename: the rename is atomic, the copy may be cut short.
	staged=$install_dir/.lokt.install.$$
	cp "$tmp_dir/unpacked/lokt" "$staged" 2>/dev/null || not_writable "$install_dir"
	chmod 0755 "$staged" || die "could not make $staged executable. Nothing was installed."
	mv -f "$staged" "$install_dir/lokt" || die "could not move lokt into $install_dir."
	staged=
	say "installed $install_dir/lokt"

	case ":${PATH:-}:" in
	*":$install_dir:"* | *":$install_dir/:"*)
		found=$(command -v lokt 2>/dev/null || true)
		if [ -n "$found" ] && [ "$found" != "$install_dir/lokt" ]; then
			say "note: another lokt comes first on your PATH: $found"
		fi
		;;
	*)
		say "$install_dir is not on your PATH. Add this line to your shell's profile" \
			"(~/.profile, ~/.bashrc or ~/.zshrc), then open a new terminal:"
		path_line
		;;
	esac

	# stdin may be the rest of this script (curl | sh): lokt gets none of it.
	if ! "$install_dir/lokt" version </dev/null; then
		hint=
		if [ "$os" = Linux ]; then hint=" (the Linux binaries need glibc: on musl, use Deno)"; fi
		die "lokt was installed in $install_dir but \`lokt version\` failed$hint. Or run it with" \
			"Deno: deno run -A jsr:@lokt/cli"
	fi
}

main "$@"
