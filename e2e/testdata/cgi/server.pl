#!/usr/bin/perl
# A CGI server for e2e/cgi_test.go: runs app.pl for every request with the
# environment Apache's mod_cgi gives a script (RFC 3875): CONTENT_TYPE and
# CONTENT_LENGTH only when the request has them, the body on its input.
# Usage: perl server.pl PORT
use strict;
use warnings;
use IO::Socket::INET;
use File::Basename qw(dirname);

my $app = dirname(__FILE__) . '/app.pl';
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $ARGV[0],
                                Listen => 16, ReuseAddr => 1) or die "listen: $!";
$SIG{CHLD} = 'IGNORE';
while (my $c = $srv->accept) {
    if (fork) { close $c; next; }
    my $head = '';
    while ($head !~ /\r\n\r\n\z/) { sysread($c, $head, 1, length $head) or exit; }
    my ($line, @fields) = split /\r\n/, $head;
    my ($method, $target) = split / /, $line;
    my ($path, $query) = split /\?/, $target, 2;
    %ENV = (REQUEST_METHOD => $method, PATH_INFO => $path, QUERY_STRING => $query // '',
            GATEWAY_INTERFACE => 'CGI/1.1', SERVER_PROTOCOL => 'HTTP/1.0');
    for (@fields) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $k = uc $k; $k =~ tr/-/_/;
        $ENV{$k =~ /^CONTENT_(TYPE|LENGTH)$/ ? $k : "HTTP_$k"} = $v;
    }
    syswrite $c, "HTTP/1.0 200 OK\r\n";
    open STDIN, '<&', $c or die;
    open STDOUT, '>&', $c or die;
    exec $^X, $app or die;
}
