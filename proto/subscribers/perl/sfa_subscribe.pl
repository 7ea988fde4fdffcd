#!/usr/bin/perl
# sfa_subscribe.pl - print the sFlow samples an sfa collector publishes.
#
# A complete, short bus reader for proto/SCHEMA.md, written as documentation:
# nanomsg through NanoMsg::Raw (Debian: libnanomsg-raw-perl) for the
# transport - nanomsg speaks the same SP wire protocol as nng, over ipc://
# and tcp:// - and Data::MessagePack (Debian: libdata-messagepack-perl) for
# the payload. It connects to every lane of each sample base URL (and,
# optionally, the control URL), subscribes to topic prefixes and prints one
# line per sample, exactly as proto/subscribers/python/sfa_subscribe.py does:
#
#   flow.v1.f0 agent=172.16.0.3 ds=1 kind=flow seq=9 rate=1024 framelength=1518 ...
#
# It tracks the envelope's seq per (src, topic) and reports lost messages.
# It does not aggregate anything; sfa's aggregators do. Single-threaded.
#
#   perl sfa_subscribe.pl --url ipc:///tmp/sfa-1000/samples --lanes 4
use strict;
use warnings;

use Data::MessagePack;
use Getopt::Long;
use NanoMsg::Raw;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

my %opt = (url => [], topic => [], lanes => 1, max => 0, timeout => 0, rcvbuf => 8 << 20);
GetOptions(\%opt, 'url=s@', 'lanes=i', 'control=s', 'topic=s@', 'count', 'max=i',
           'timeout=f', 'rcvbuf=i', 'help')
    or usage(2);
usage(0) if $opt{help};
usage(2) unless @{$opt{url}} && $opt{lanes} >= 1;
@{$opt{topic}} = ('flow.v1.', 'counter.v1.') unless @{$opt{topic}};

sub usage {
    print STDERR <<"EOF";
usage: $0 --url BASE [--url BASE...] [--lanes N] [--control URL] [--topic PREFIX...]
          [--count] [--max N] [--timeout S] [--rcvbuf BYTES]
  --url      sample publisher base URL (bus.samples), repeatable
  --lanes    bus.lanes of the collector (default 1)
  --control  also connect to this bus.control URL (stats.v1, agents.v1)
  --topic    topic prefix, repeatable (default "flow.v1." and "counter.v1.")
  --count    print only per-topic counts and totals at the end
  --max      stop after N samples
  --timeout  stop after S seconds without a message of the --topic prefixes
  --rcvbuf   receive buffer, bytes (nanomsg counts bytes, not messages)
EOF
    exit $_[0];
}

# The URL of every lane, as sfa_bus_lane_url makes them: one lane is the
# base itself; ipc:// gets ".<lane>" appended; tcp:// adds lane to the port.
sub lane_urls {
    my ($base, $lanes) = @_;
    return ($base) if $lanes == 1;
    if ($base =~ m{^(tcp://.*):(\d+)$}) {
        my ($host, $port) = ($1, $2);
        return map { "$host:" . ($port + $_) } 0 .. $lanes - 1;
    }
    return map { "$base.$_" } 0 .. $lanes - 1;
}

# One SUB socket connected to every URL, subscribed to every prefix.
sub open_sub {
    my $s = nn_socket(AF_SP, NN_SUB) // die "nn_socket: " . nn_errno . "\n";
    my @prefixes = @{$opt{topic}};
    push @prefixes, "stats.v1\0", "agents.v1\0" if $opt{control};
    for my $p (@prefixes) {
        nn_setsockopt($s, NN_SUB, NN_SUB_SUBSCRIBE, $p) or die "subscribe: " . nn_errno . "\n";
    }
    # Pub/sub drops rather than blocks, so size the queue; allow any message
    # size; wake up regularly so --timeout and Ctrl-C are noticed.
    nn_setsockopt($s, NN_SOL_SOCKET, NN_RCVBUF, $opt{rcvbuf}) or die "rcvbuf: " . nn_errno . "\n";
    nn_setsockopt($s, NN_SOL_SOCKET, NN_RCVMAXSIZE, -1) or die "rcvmaxsize: " . nn_errno . "\n";
    nn_setsockopt($s, NN_SOL_SOCKET, NN_RCVTIMEO, 200) or die "rcvtimeo: " . nn_errno . "\n";
    my @urls = map { lane_urls($_, $opt{lanes}) } @{$opt{url}};
    push @urls, $opt{control} if $opt{control};
    for my $url (@urls) {
        # Like nng_dial with NNG_FLAG_NONBLOCK: keeps reconnecting by itself.
        defined nn_connect($s, $url) or die "connect $url: " . nn_errno . "\n";
    }
    return $s;
}

# ---- printing ----

my @FLOW_FIELDS = qw(framelength ipsource ipdestination ip6source ip6destination);
my @COUNTER_FIELDS = qw(ifindex ifinoctets ifoutoctets host_name);

# One value as text. Data::MessagePack returns both str and bin as Perl
# strings and booleans as objects; the fields printed here are numbers,
# addresses and names.
sub text {
    my ($v) = @_;
    return $v ? 'true' : 'false' if ref $v;
    return "$v";
}

sub sample_line {
    my ($topic, $dgram, $s) = @_;
    my @words = ($topic, "agent=$dgram->{agent}", "ds=$s->{ds}", "kind=$s->{kind}",
                 "seq=$s->{seq}");
    push @words, "rate=$s->{rate}" if exists $s->{rate};
    my $f = $s->{fields};
    for my $name ($s->{kind} eq 'counter' ? @COUNTER_FIELDS : @FLOW_FIELDS) {
        push @words, "$name=" . text($f->{$name}) if exists $f->{$name};
    }
    return join(' ', @words);
}

sub control_line {
    my ($topic, $env) = @_;
    my $body = $env->{body};
    my $what = $topic eq 'agents.v1'
        ? 'agents=' . join(',', sort keys %$body)
        : sprintf('service=%s uptime_ms=%s', $body->{service} // '-',
                  $body->{uptime_ms} // '-');
    return "$topic src=$env->{src} seq=$env->{seq} $what";
}

# ---- receiving ----

my %topics;    # topic -> [messages, datagrams, samples, lost]
my %kinds;     # sample kind -> samples
my %last_seq;  # "src\0topic" -> last envelope seq

# Count a message and its seq gap (SCHEMA.md section 5: a step back means
# the publisher restarted, not loss).
sub count_message {
    my ($topic, $env) = @_;
    my $t = $topics{$topic} //= [0, 0, 0, 0];
    $t->[0]++;
    my $key = "$env->{src}\0$topic";
    my $last = $last_seq{$key};
    $last_seq{$key} = $env->{seq};
    if (defined $last && $env->{seq} > $last + 1) {
        my $lost = $env->{seq} - $last - 1;
        $t->[3] += $lost;
        print STDERR "# gap: $lost messages lost on $topic from $env->{src}\n";
    }
    return $t;
}

sub summary {
    my @tot = (0, 0, 0, 0);
    for my $topic (sort keys %topics) {
        my $t = $topics{$topic};
        printf "# %s messages=%d datagrams=%d samples=%d gaps=%d\n", $topic, @$t;
        $tot[$_] += $t->[$_] for 0 .. 3;
    }
    printf "# total messages=%d datagrams=%d samples=%d gaps=%d %s\n", @tot,
        join(' ', map { "$_=" . ($kinds{$_} // 0) } qw(flow counter discard));
}

my $mp = Data::MessagePack->new->utf8(1);  # str as Perl text
binmode STDOUT, ':encoding(UTF-8)';
$| = 1 unless $opt{count};  # one line at a time when piped

# Parse one message; returns the number of samples it carried.
sub handle {
    my ($data) = @_;
    my ($topic, $payload) = split /\0/, $data, 2;
    my $env = $mp->unpack($payload);
    if (($env->{v} // -1) != 1) {
        print STDERR "# $topic: envelope version ", $env->{v} // 'none', " skipped\n";
        return 0;
    }
    my $t = count_message($topic, $env);
    if ($topic !~ /^(flow|counter)\./) {
        print control_line($topic, $env), "\n" unless $opt{count};
        return 0;
    }
    my $n = 0;
    for my $dgram (@{$env->{body}}) {
        $t->[1]++;
        for my $s (@{$dgram->{samples}}) {
            $kinds{$s->{kind}}++;
            $n++;
            print sample_line($topic, $dgram, $s), "\n" unless $opt{count};
        }
    }
    $t->[2] += $n;
    return $n;
}

my $stop = 0;
$SIG{INT} = $SIG{TERM} = sub { $stop = 1 };  # stop, but still print the summary

my $s = open_sub();
my ($samples, $idle_since) = (0, clock_gettime(CLOCK_MONOTONIC));
my @prefixes = @{$opt{topic}};
until ($stop || ($opt{max} && $samples >= $opt{max})) {
    my $len = nn_recv($s, my $data);
    if (!defined $len) {
        my $err = nn_errno;
        die "nn_recv: $err\n" unless $err == EAGAIN || $err == ETIMEDOUT || $err == EINTR;
        last if $opt{timeout} && clock_gettime(CLOCK_MONOTONIC) - $idle_since >= $opt{timeout};
        next;
    }
    # Control messages do not reset the idle clock.
    if (grep { substr($data, 0, length $_) eq $_ } @prefixes) {
        $idle_since = clock_gettime(CLOCK_MONOTONIC);
    }
    $samples += handle($data);
}
summary();
nn_close($s);
