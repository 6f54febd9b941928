#!/usr/bin/perl
# Says what Perl's CGI.pm believes: the method and its params.
use strict;
use warnings;
use CGI;
use JSON::PP;

my $q = CGI->new;
my %params = map { $_ => [ $q->multi_param($_) ] } $q->param;
print "Content-Type: application/json\r\n\r\n";
print JSON::PP->new->canonical->encode({ method => $q->request_method, params => \%params });
