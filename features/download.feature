@download
Feature: DescribeDataDownloadURL gives the download address of pushed data
  The answer lists the file servers that hold a successfully pushed copy. The API answers GET only
  (the official metadata); AppId, DataName and DataVersion are required.

  Background:
    Given a fresh application

  @core @validation
  Scenario Outline: <parameter> is required by DescribeDataDownloadURL
    When I call DescribeDataDownloadURL without the <parameter> parameter
    Then the request fails with HTTP 400 and code "MissingParameter" or "Missing<parameter>" or "InvalidParameter.<parameter>"

    Examples:
      | parameter   |
      | AppId       |
      | DataName    |
      | DataVersion |

  @extended @validation
  Scenario: DescribeDataDownloadURL refuses POST
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I call DescribeDataDownloadURL with the HTTP method POST
    Then the request fails with HTTP 400 and code "UnsupportedHTTPMethod"

  @extended @validation
  Scenario: data that was never pushed answers InvalidParameter.DataName
    When I ask for the download URL of "app01" version "1.0"
    Then the request fails with HTTP 400 and code "InvalidParameter.DataName"

  @core
  Scenario: pushed data has a download URL and file servers that hold it
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I ask for the download URL of "app01" version "1.0"
    Then the request succeeds
    And the answer has a download URL and at least one file server with a Host and a RegionId
    And every listed file server is in a region where "app01" version "1.0" was pushed

  @extended
  Scenario: the download link serves the data file
    ensmock: Data.Url on a ServerList Host serves the pushed bytes (in fetch mode the very bytes;
    in simulate mode as many bytes as the data file has).

    When I push "app01" version "1.0" of 3 KB
    And "app01" version "1.0" has been pushed to every target file server
    And I ask for the download URL of "app01" version "1.0"
    Then the request succeeds
    And the download link serves the bytes of "app01" version "1.0"
